import { test as base, expect, Browser, BrowserContext, Page } from '@playwright/test';
import { TetherServer } from '../server';

/** A problem a test expects its pages to report, by name. */
export interface Allowance {
  /** Why the test expects it, in the words of its failure message. */
  name: string;
  pattern: RegExp;
}

/**
 * What every test allows. With serviceWorkers: 'block' go-app's app.js logs
 * that registering its worker failed; the app asks for no favicon but
 * Chromium does, and the server answers 404 (its allow-list has none).
 */
const alwaysAllowed: Allowance[] = [
  { name: 'go-app cannot register its worker where the test blocks workers', pattern: /goapp service worker registration failed/ },
  { name: 'Chromium asks for a favicon the app does not have', pattern: /\/favicon\.ico\b/ },
];

/**
 * Watch collects what went wrong in every page of every context of the
 * running test: uncaught exceptions, console errors, failed requests (the
 * network gave up, or an answer of 400 or more) and Content Security Policy
 * violations. The watch fixture fails the test on any that no allowance
 * names, and closes every context the test opened, whatever the outcome.
 */
export class Watch {
  readonly problems: string[] = [];
  readonly csp: string[] = [];
  readonly allowances: Allowance[] = [...alwaysAllowed];
  readonly opened: BrowserContext[] = [];
  /** The last console lines of each context, to tell a failure's story. */
  readonly logs = new Map<string, string[]>();
  private readonly watched = new WeakSet<BrowserContext>();
  private contexts = 0;

  /** Names the problems the test causes on purpose (a server it crashes, a network it cuts). */
  allow(...allowances: Allowance[]) {
    this.allowances.push(...allowances);
  }

  /** The problems no allowance names. */
  unexpected(): string[] {
    return this.problems.filter((p) => !this.allowances.some((a) => a.pattern.test(p)));
  }

  /** Watches every page of context, open now or opened later. */
  async watchContext(context: BrowserContext) {
    if (this.watched.has(context)) return;
    this.watched.add(context);
    this.contexts += 1;
    const label = `context ${this.contexts}`;
    const where = (page: Page | null | undefined) => `${label}${page ? ` ${pathOf(page.url())}` : ''}`;
    const log: string[] = [];
    this.logs.set(label, log);
    const t0 = Date.now();
    context.on('console', (msg) => {
      log.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${pathOf(msg.page()?.url() ?? '')} ${msg.type()}: ${msg.text()}`);
      if (log.length > Watch.logLines) log.shift();
      if (/Content.Security.Policy/i.test(msg.text())) this.csp.push(`console: ${msg.text()}`);
      if (msg.type() === 'error') {
        const at = msg.location().url ? ` (${pathOf(msg.location().url)})` : '';
        this.problems.push(`${where(msg.page())}: console error: ${msg.text()}${at}`);
      }
    });
    context.on('weberror', (e) => this.problems.push(`${where(e.page())}: uncaught: ${e.error().message}`));
    context.on('requestfailed', (req) => {
      this.problems.push(`${where(pageOf(req))}: request failed: ${req.method()} ${pathOf(req.url())}: ${req.failure()?.errorText}`);
    });
    context.on('response', (res) => {
      if (res.status() >= 400) {
        this.problems.push(`${where(pageOf(res.request()))}: HTTP ${res.status()}: ${res.request().method()} ${pathOf(res.url())}`);
      }
    });
    await context.exposeBinding('__tetherCSPViolation', (_source, report: string) => {
      this.csp.push(report);
    });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as any).__tetherCSPViolation(
          `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
      });
    });
  }

  /** How many console lines each context keeps. */
  static readonly logLines = 40;

  /** Closes every context the test opened (again is a no-op). */
  async closeOpened() {
    for (const c of this.opened.splice(0)) await c.close().catch(() => {});
  }

  /** Makes browser.newContext (and so browser.newPage) watch and keep what it opens. */
  instrument(browser: Browser): () => void {
    const original = browser.newContext;
    browser.newContext = async (options) => {
      const context = await original.call(browser, options);
      this.opened.push(context);
      await this.watchContext(context);
      return context;
    };
    return () => { browser.newContext = original; };
  }
}

/** The page a request came from; none for a service worker's own. */
function pageOf(req: import('@playwright/test').Request): Page | null {
  try {
    return req.frame().page();
  } catch {
    return null;
  }
}

/** A URL without its origin, and with any token in it masked. */
function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return (u.pathname + u.search + u.hash).replace(/(token=)[^&#]+/g, '$1…');
  } catch {
    return url;
  }
}

/** The watch of the running test (a worker runs one test at a time). */
let current: Watch | null = null;

/** Returns the CSP violations seen so far and forgets them: for a test that causes one on purpose. */
export function takeCSPViolations(): string[] {
  return current ? current.csp.splice(0) : [];
}

export const test = base.extend<{ watch: Watch }>({
  // Every test has a dev server of its own (a process start, some 100 ms):
  // a test never sees another's rooms. On one shared server the dev
  // therapist's inbox, which holds every room, grew with each test, and
  // each inbox opened read a page of every room.
  baseURL: async ({}, use) => {
    const server = await TetherServer.start({ dev: true });
    await use(server.url);
    const code = await server.stop();
    if (code !== 0) throw new Error(`the test's server exited with ${code} on SIGTERM:\n${server.output.join('')}`);
  },
  // Every test: the default context and every context opened through the
  // browser are watched; the test fails on a problem it did not allow or
  // on any CSP violation; the contexts it opened are closed.
  watch: [async ({ browser, context }, use, testInfo) => {
    const watch = new Watch();
    current = watch;
    await watch.watchContext(context);
    const restore = watch.instrument(browser);
    try {
      await use(watch);
    } finally {
      restore();
      current = null;
      // Playwright has taken its failure screenshots by now.
      await watch.closeOpened();
    }
    if (testInfo.status !== testInfo.expectedStatus) {
      // The pages' own account (the connection's log lines) beside the
      // error: a failure on CI is read from its log alone.
      for (const [label, log] of watch.logs) {
        if (log.length > 0) testInfo.annotations.push({ type: `console of ${label}`, description: '\n' + log.join('\n') });
      }
      return;
    }
    if (watch.csp.length > 0) throw new Error(`Content Security Policy violations:\n${watch.csp.join('\n')}`);
    const unexpected = watch.unexpected();
    if (unexpected.length > 0) {
      throw new Error(`the pages reported problems the test does not allow:\n${unexpected.join('\n')}\n` +
        `allowed: ${watch.allowances.map((a) => a.name).join('; ')}`);
    }
  }, { auto: true }],
});

/** Waits until the wasm has mounted the page (not just the pre-rendered HTML). */
export async function waitForApp(page: Page, testId: string) {
  await expect(page.getByTestId(testId)).toHaveAttribute('data-ready', 'true', { timeout: 30_000 });
}

export { expect };
