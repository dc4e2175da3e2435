import { test, expect, Browser, BrowserContext, Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';

// Client figures for `make bench`: bench/load starts a tether dev server
// with the test backend (-dev -faults) and go-app's hello world, names them
// in TETHER_BENCH_URL and HELLO_BENCH_URL, and reads what this writes to
// BENCH_CLIENT_OUT. Times are taken in the page (performance.now()), not
// around Playwright's calls.

const tetherURL = required('TETHER_BENCH_URL');
const helloURL = required('HELLO_BENCH_URL');
const out = required('BENCH_CLIENT_OUT');
const navRuns = Number(process.env.BENCH_NAV_RUNS ?? 5);
const halfOpenRuns = Number(process.env.BENCH_HALFOPEN_RUNS ?? 1);

const indicator = '[data-testid=connection-indicator]';
const onWebSocket = `${indicator}[data-transport=websocket]`;

const figures = {
  navConnectedMs: [] as number[],
  navMountedMs: [] as number[],
  reconnectMs: [] as number[],
  halfOpenS: [] as number[],
};

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through make bench`);
  return v.replace(/\/$/, '');
}

declare global {
  interface Window { __bench: Record<string, number> }
}

// Records in the page, on every DOM change, the first time selector
// matches: milliseconds since the navigation started.
async function markWhen(context: BrowserContext, name: string, selector: string) {
  await context.addInitScript(({ name, selector }) => {
    window.__bench = window.__bench || {};
    const check = () => {
      if (!(name in window.__bench) && document.querySelector(selector)) {
        window.__bench[name] = performance.now();
        observer.disconnect();
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document, { subtree: true, childList: true, attributes: true });
  }, { name, selector });
}

async function faults(settings: Record<string, unknown>) {
  const res = await fetch(`${tetherURL}/api/test/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(settings),
  });
  if (res.status !== 200) throw new Error(`faults ${JSON.stringify(settings)}: ${res.status}`);
}

async function openChat(browser: Browser, room: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${tetherURL}/chat/${room}?as=customer&name=Bench`);
  await expect(page.locator(onWebSocket)).toBeAttached({ timeout: 30_000 });
  return { context, page };
}

test.describe.configure({ mode: 'serial' });

test.afterAll(() => {
  writeFileSync(out, JSON.stringify(figures, null, 2));
});

test('navigation to connected, beside the hello world\'s navigation to mounted', async ({ browser }) => {
  // A fresh context each time: a first visit, nothing cached.
  for (let i = 0; i < navRuns; i++) {
    for (const site of ['tether', 'hello'] as const) {
      const context = await browser.newContext();
      const [name, selector, url] = site === 'tether'
        ? ['connected', onWebSocket, `${tetherURL}/chat/bench-nav-${i}?as=customer&name=Bench`]
        : ['mounted', '[data-testid=hello][data-mounted=yes]', `${helloURL}/`];
      await markWhen(context, name, selector);
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'commit' });
      await expect(page.locator(selector)).toBeAttached({ timeout: 30_000 });
      const ms = await page.evaluate((n) => window.__bench[n], name);
      (site === 'tether' ? figures.navConnectedMs : figures.navMountedMs).push(Math.round(ms));
      await context.close();
    }
  }
});

test('reconnect after the browser comes back online', async ({ browser }) => {
  const { context, page } = await openChat(browser, 'bench-online');
  for (let i = 0; i < navRuns; i++) {
    await context.setOffline(true);
    await expect(page.locator(`${indicator}[data-quality=disconnected]`)).toBeAttached({ timeout: 30_000 });
    await page.waitForTimeout(1000);
    // From the page's `online` event to the indicator on websocket again.
    await page.evaluate(() => {
      const marks = (window.__bench = window.__bench || {});
      delete marks.online;
      delete marks.back;
      const observer = new MutationObserver(() => {
        if (marks.online !== undefined && marks.back === undefined
          && document.querySelector('[data-testid=connection-indicator][data-transport=websocket]')) {
          marks.back = performance.now();
          observer.disconnect();
        }
      });
      observer.observe(document, { subtree: true, childList: true, attributes: true });
      window.addEventListener('online', () => { marks.online = performance.now(); }, { once: true });
    });
    await context.setOffline(false);
    await expect(page.locator(onWebSocket)).toBeAttached({ timeout: 30_000 });
    await expect.poll(() => page.evaluate(() => window.__bench.back), { timeout: 5_000 }).toBeDefined();
    const ms = await page.evaluate(() => window.__bench.back - window.__bench.online);
    figures.reconnectMs.push(Math.round(ms));
  }
  await context.close();
});

test('a half-open link is detected', async ({ browser }) => {
  const { context, page } = await openChat(browser, 'bench-halfopen');
  try {
    for (let i = 0; i < halfOpenRuns; i++) {
      await expect(page.locator(`${indicator}[data-state=connected]`)).toBeAttached({ timeout: 30_000 });
      // The server stops answering pings: the socket stays open, nothing
      // else tells the client. The client gives the socket up and dials
      // again at once, so the indicator may leave "connected" only for a
      // moment: the page records the first change away from it.
      const seconds = await page.evaluate(async () => {
        const marks = (window.__bench = window.__bench || {});
        delete marks.left;
        const left = new Promise<void>((resolve) => {
          const observer = new MutationObserver((records) => {
            const recs = records.filter((r) => (r.target as Element).matches('[data-testid=connection-indicator]'));
            for (let k = 0; k < recs.length; k++) {
              // The value a change set is the next change's old value, or
              // the attribute now for the last one.
              const after = k + 1 < recs.length ? recs[k + 1].oldValue : (recs[k].target as Element).getAttribute('data-state');
              if (recs[k].oldValue === 'connected' && after !== 'connected') {
                marks.left = performance.now();
                observer.disconnect();
                resolve();
                return;
              }
            }
          });
          observer.observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'], attributeOldValue: true });
        });
        const res = await fetch('/api/test/faults', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mute_pongs: true }),
        });
        if (res.status !== 200) throw new Error(`faults: ${res.status}`);
        const start = performance.now();
        await left;
        return (marks.left - start) / 1000;
      });
      figures.halfOpenS.push(Math.round(seconds * 10) / 10);
      await faults({ mute_pongs: false });
      await expect(page.locator(onWebSocket)).toBeAttached({ timeout: 60_000 });
    }
  } finally {
    await faults({ mute_pongs: false });
    await context.close();
  }
});
