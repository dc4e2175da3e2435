import { test as base, expect, BrowserContext, Page } from '@playwright/test';

// With serviceWorkers: 'block' go-app's app.js logs that registering its
// worker failed; that one line is expected, every other error is a bug.
const blockedWorker = /goapp service worker registration failed/;

export interface Fixtures {
  /** Errors the page logged or threw; the fixture fails the test on any. */
  consoleErrors: string[];
}

/** CSP violations seen by the watched contexts of the running test. */
const cspViolations: string[] = [];

/**
 * Watches every page of context, open or opened later, for Content Security
 * Policy violations: the page's securitypolicyviolation events (reported
 * through a binding) and Chromium's console reports of them. The running
 * test fails on any (the cspWatch fixture). Call it once per context.
 */
export async function watchCSP(context: BrowserContext): Promise<void> {
  await context.exposeBinding('__tetherCSPViolation', (_source, report: string) => {
    cspViolations.push(report);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as any).__tetherCSPViolation(
        `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
    });
  });
  context.on('console', (msg) => {
    if (/Content.Security.Policy/i.test(msg.text())) cspViolations.push(`console: ${msg.text()}`);
  });
}

/** Returns the violations seen so far and forgets them: for a test that causes one on purpose. */
export function takeCSPViolations(): string[] {
  return cspViolations.splice(0);
}

export const test = base.extend<Fixtures & { cspWatch: void }>({
  // Every test fails on a CSP violation in its default context; openPerson
  // and the tests' own contexts call watchCSP too.
  cspWatch: [async ({ context }, use) => {
    takeCSPViolations();
    await watchCSP(context);
    await use();
    const seen = takeCSPViolations();
    if (seen.length > 0) throw new Error(`Content Security Policy violations:\n${seen.join('\n')}`);
  }, { auto: true }],
  consoleErrors: [async ({ page }, use, testInfo) => {
    const errors = watchErrors(page);
    await use(errors);
    const unexpected = errors.filter((e) => !blockedWorker.test(e));
    if (unexpected.length > 0 && testInfo.status === testInfo.expectedStatus) {
      throw new Error(`the page logged errors:\n${unexpected.join('\n')}`);
    }
  }, { auto: true }],
});

/** Collects the console errors and uncaught exceptions of a page. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  return errors;
}

/** Waits until the wasm has mounted the page (not just the pre-rendered HTML). */
export async function waitForApp(page: Page, testId: string) {
  await expect(page.getByTestId(testId)).toHaveAttribute('data-ready', 'true', { timeout: 30_000 });
}

export { expect };
