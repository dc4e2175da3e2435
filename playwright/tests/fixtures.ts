import { test as base, expect, Page } from '@playwright/test';

// With serviceWorkers: 'block' go-app's app.js logs that registering its
// worker failed; that one line is expected, every other error is a bug.
const blockedWorker = /goapp service worker registration failed/;

export interface Fixtures {
  /** Errors the page logged or threw; the fixture fails the test on any. */
  consoleErrors: string[];
}

export const test = base.extend<Fixtures>({
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
