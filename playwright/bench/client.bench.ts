import { test, expect, Browser, BrowserContext, Page } from '@playwright/test';
import { slowLink, SlowLink } from './slowlink';
import { writeFileSync } from 'node:fs';

// Client figures for `make bench`: bench/load starts a tether dev server
// with the test backend (-dev -faults) and go-app's hello world (twice: as
// go-app serves it, and sending its wasm brotli-compressed), names them in
// TETHER_BENCH_URL, HELLO_BENCH_URL and HELLO_BROTLI_BENCH_URL, and reads
// what this writes to BENCH_CLIENT_OUT. Times are taken in the page (performance.now()), not
// around Playwright's calls.

const tetherURL = required('TETHER_BENCH_URL');
const helloURL = required('HELLO_BENCH_URL');
const out = required('BENCH_CLIENT_OUT');
const navRuns = Number(process.env.BENCH_NAV_RUNS ?? 5);
const halfOpenRuns = Number(process.env.BENCH_HALFOPEN_RUNS ?? 1);
// The hello world serving its app.wasm precompressed as tether does (go-app
// alone sends the raw 14 MB): the yardstick on the slow link.
const helloBrotliURL = required('HELLO_BROTLI_BENCH_URL');
const slowRuns = Number(process.env.BENCH_SLOW_RUNS ?? 1);

const indicator = '[data-testid=connection-indicator]';
const onWebSocket = `${indicator}[data-transport=websocket]`;

const figures = {
  navConnectedMs: [] as number[],
  navMountedMs: [] as number[],
  reconnectMs: [] as number[],
  halfOpenS: [] as number[],
  slowNavConnectedMs: [] as number[],
  slowNavMountedMs: [] as number[],
  slowFirstProgressMs: [] as number[],
  slowFirstVisitKB: [] as number[],
  slowReturnS: [] as number[],
  slowReturnKB: [] as number[],
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

// Records in the page the first time go-app's loader shows a percentage
// above zero: the page is pre-rendered with "… 0%", and only bytes of
// app.wasm read by the loader move it.
async function markProgress(context: BrowserContext) {
  await context.addInitScript(() => {
    window.__bench = window.__bench || {};
    const observer = new MutationObserver(() => {
      const label = document.getElementById('app-wasm-loader-label');
      const m = label && /(\d+)%/.exec(label.textContent || '');
      if (m && Number(m[1]) > 0 && !('progress' in window.__bench)) {
        window.__bench.progress = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(document, { subtree: true, childList: true, characterData: true });
  });
}

// A day is longer than any freshness the link's answers may carry: an answer
// fresh for less than that would be taken from the cache in this run's
// return visit and not a day later, flattering it.
function shortLived(link: SlowLink): string[] {
  return link.cacheControls().filter((h) => {
    const m = /max-age=(\d+)/i.exec(h);
    return m !== null && Number(m[1]) > 0 && Number(m[1]) < 86_400;
  });
}

test('a slow phone link: a first visit beside the hello world\'s, then a return visit', async ({ browser }) => {
  test.setTimeout(slowRuns * 600_000);
  for (let i = 0; i < slowRuns; i++) {
    // tether, a first visit: a fresh context, nothing cached, the service
    // worker allowed as on a phone.
    const context = await browser.newContext({ serviceWorkers: 'allow' });
    await markWhen(context, 'connected', onWebSocket);
    await markProgress(context);
    const url = `${tetherURL}/chat/bench-slow-${i}?as=customer&name=Bench`;
    let page = await context.newPage();
    let link = await slowLink(browser, context, page, tetherURL);
    await page.goto(url, { waitUntil: 'commit' });
    await expect(page.locator(onWebSocket)).toBeAttached({ timeout: 240_000 });
    const first = await page.evaluate(() => ({ connected: window.__bench.connected, progress: window.__bench.progress }));
    figures.slowNavConnectedMs.push(Math.round(first.connected));
    figures.slowFirstProgressMs.push(Math.round(first.progress));
    // Real progress from the first second: the loader counts app.wasm's
    // bytes (preloaded from the page's head) within a second or so of
    // the navigation, not after the scripts and stylesheets have crossed.
    expect(first.progress, 'the loader showed no progress above 0% in time').toBeLessThan(2_500);
    // The worker keeps app.wasm for the next visit (it takes it from the
    // HTTP cache, revalidated, not over the link again).
    await expect.poll(() => page.evaluate(async () => !!(await caches.match('/web/app.wasm'))), { timeout: 120_000 }).toBe(true);
    figures.slowFirstVisitKB.push(Math.round(link.bytes() / 1024));
    expect(shortLived(link), 'answers fresh for less than a day make the return visit look faster than it is').toEqual([]);
    await link.close();
    await page.close();

    // A day later, the booking link again: the same context, its service
    // worker and HTTP cache kept. A return visit costs seconds where a
    // first one costs a minute: three of them, so that one slowed by the
    // shared machine does not make the figure.
    for (let k = 0; k < 3; k++) {
      page = await context.newPage();
      link = await slowLink(browser, context, page, tetherURL);
      await page.goto(url, { waitUntil: 'commit' });
      await expect(page.locator(onWebSocket)).toBeAttached({ timeout: 120_000 });
      const back = await page.evaluate(() => window.__bench.connected);
      figures.slowReturnS.push(Math.round(back / 100) / 10);
      figures.slowReturnKB.push(Math.round(link.bytes() / 1024));
      await link.close();
      await page.close();
    }
    await context.close();

    // The hello world on the same link, a first visit as well.
    const hello = await browser.newContext({ serviceWorkers: 'allow' });
    await markWhen(hello, 'mounted', '[data-testid=hello][data-mounted=yes]');
    const helloPage = await hello.newPage();
    const helloLink = await slowLink(browser, hello, helloPage, helloBrotliURL);
    await helloPage.goto(`${helloBrotliURL}/`, { waitUntil: 'commit' });
    await expect(helloPage.locator('[data-testid=hello][data-mounted=yes]')).toBeAttached({ timeout: 240_000 });
    figures.slowNavMountedMs.push(Math.round(await helloPage.evaluate(() => window.__bench.mounted)));
    await helloLink.close();
    await hello.close();
    console.log(`slow link: tether ${figures.slowNavConnectedMs.at(-1)} ms (progress at ${figures.slowFirstProgressMs.at(-1)} ms, ${figures.slowFirstVisitKB.at(-1)} KB), `
      + `return ${figures.slowReturnS.slice(-3).join(', ')} s (${figures.slowReturnKB.slice(-3).join(', ')} KB), hello ${figures.slowNavMountedMs.at(-1)} ms`);
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
