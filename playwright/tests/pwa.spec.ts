import { Browser, Page } from '@playwright/test';
import { test, expect, waitForApp } from './fixtures';
import { TetherServer } from '../server';
import { connected, customerPath, freshRoom, indicator, measured, messageWithBody, send, therapistPath } from './chat';

// The therapist's installed app: its worker is allowed here (the rest of the
// suite blocks it so page.route sees every request).
test.use({ serviceWorkers: 'allow' });

test.describe('the installed app', () => {
  test('is installable with its own name and local icons', async ({ page, baseURL }) => {
    await page.goto('/therapist');
    await waitForApp(page, 'therapist-page');
    const href = await page.locator('link[rel=manifest]').getAttribute('href');
    expect(href).toBeTruthy();
    const manifest = await (await page.request.get(new URL(href!, baseURL).toString())).json();
    expect(manifest.name).toBe('tether');
    expect(manifest.short_name).toBe('tether');
    expect(manifest.display).toBe('standalone');
    expect(manifest.icons.length).toBeGreaterThan(0);
    for (const icon of manifest.icons) {
      expect(icon.src, 'icons come from the app itself').toMatch(/^\/web\//);
      expect((await page.request.get(new URL(icon.src, baseURL).toString())).status()).toBe(200);
    }
    await page.evaluate(() => navigator.serviceWorker.ready);
    const cdp = await page.context().newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    // Playwright's contexts are incognito, where Chromium never installs;
    // every other criterion (manifest, icons, worker) must hold.
    expect(installabilityErrors.filter((e) => e.errorId !== 'in-incognito')).toEqual([]);
  });

  test('opens offline once installed, and sends what was typed offline when back', async ({ page, context, watch }, testInfo) => {
    const room = freshRoom('pwa');
    await page.goto(therapistPath(room));
    await waitForApp(page, 'therapist-page');
    await connected(page);
    // Installed: the worker controls the page and has cached the shell.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await expect.poll(() => page.evaluate(async () => {
      const keys = await caches.keys();
      const cache = await caches.open(keys.find((k) => k.startsWith('tether-'))!);
      return !!(await cache.match('/web/app.wasm'));
    })).toBe(true);

    await context.setOffline(true);
    await page.reload();
    await waitForApp(page, 'therapist-page');
    await expect(indicator(page)).toHaveAttribute('data-quality', 'disconnected');
    await expect(page.getByTestId('connection-banner')).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
    await send(page, 'typed in the installed app while offline');
    const msg = messageWithBody(page, 'typed in the installed app while offline');
    await expect(msg).toHaveAttribute('data-state', 'pending');
    await testInfo.attach('installed app offline', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });

    await context.setOffline(false);
    await connected(page);
    await expect(msg).toHaveAttribute('data-state', 'sent');
    await expect(msg).toHaveCount(1);

    // Chromium logs each request the offline network refused; those are the
    // point here, anything else is a bug.
    watch.allow({ name: 'the network is offline', pattern: /net::ERR_INTERNET_DISCONNECTED|net::ERR_FAILED/ });
  });
});

// installedOnItsOwnServer installs the therapist's app from a server of
// its own with the test backend (its pages are broken on purpose), and runs
// body once the worker controls the page and has cached the shell.
async function installedOnItsOwnServer(browser: Browser, prefix: string, body: (page: Page, server: TetherServer) => Promise<void>) {
  const server = await TetherServer.start({ args: ['-faults'] });
  const context = await browser.newContext({ baseURL: server.url, serviceWorkers: 'allow' });
  try {
    const page = await context.newPage();
    await page.goto(therapistPath(freshRoom(prefix)));
    await waitForApp(page, 'therapist-page');
    await connected(page);
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await expect.poll(() => page.evaluate(async () => {
      const keys = await caches.keys();
      const cache = await caches.open(keys.find((k) => k.startsWith('tether-'))!);
      return !!(await cache.match('/web/app.wasm')) && !!(await cache.match('/'));
    })).toBe(true);
    await body(page, server);
  } finally {
    await context.close();
    await server.stop();
  }
}

test.describe('the installed app on a slow link', () => {
  test('opens from its cache when the network is slow, and connects on its own', async ({ browser }, testInfo) => {
    await installedOnItsOwnServer(browser, 'slow', async (page, server) => {
      // Every page and file now takes a minute from the server (the API
      // does not): the worker gives the network a few seconds, then
      // answers from its cache, and the app connects on its own.
      await server.faults({ page_latency_ms: 60_000 });
      const started = Date.now();
      await page.reload({ waitUntil: 'commit' });
      await waitForApp(page, 'therapist-page');
      await connected(page);
      measured(testInfo, 'reload on a link a minute slow → connected', Date.now() - started);
      await server.faults({ page_latency_ms: 0 });
    });
  });
});

test.describe('the installed app while the server is too busy for pages', () => {
  test('opens from its cache when pages answer 503, and connects on its own', async ({ browser, watch }) => {
    // The worker's requests see the 503s, and so does the favicon's, which
    // Chromium asks for past the worker: those are the point here.
    watch.allow({ name: 'the pages answer 503', pattern: /HTTP 503: GET|status of 503/ });
    await installedOnItsOwnServer(browser, 'busy', async (page, server) => {
      // Past its render gate a server answers pages 503 (a proxy in front
      // of it may answer 502 or 504); the API goes on.
      await server.faults({ page_status: 503 });
      await page.reload();
      await waitForApp(page, 'therapist-page');
      await connected(page);
      await server.faults({ page_status: 0 });
    });
  });
});

// A return visit on a phone a day later: the HTTP cache may have lost
// app.wasm (it is evicted under pressure, and every answer is no-cache),
// but the worker's cache has it, and the wasm must not cross a slow link
// twice: the worker revalidates its copy with the copy's ETag and answers
// the 304 with it.
test.describe('a return visit', () => {
  test('takes app.wasm from the worker\'s cache when the HTTP cache lost it', async ({ page, context }) => {
    const path = customerPath(freshRoom('return'));
    await page.goto(path);
    await waitForApp(page, 'chat-page');
    await connected(page);
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await expect.poll(() => page.evaluate(async () => !!(await caches.match('/web/app.wasm')))).toBe(true);

    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    // What the server answered the worker for app.wasm. (Playwright then
    // reports the 304's request as aborted: the worker never reads its
    // empty body.)
    const answers: number[] = [];
    context.on('response', (response) => {
      if (response.request().serviceWorker() && response.url().endsWith('/web/app.wasm')) answers.push(response.status());
    });
    await page.goto(path);
    await waitForApp(page, 'chat-page');
    await connected(page);
    await expect.poll(() => answers.length).toBeGreaterThan(0);
    expect(answers, 'app.wasm crossed the network again').toEqual(answers.map(() => 304));
  });
});

// The booking link carries the token (and soon an invite) in its fragment,
// and dev links carry ?as= and a name: none of it may be kept in Cache
// Storage, where it outlives the session and any logout.
test.describe('the worker\'s cache', () => {
  test('never keeps a token, an invite or a dev query', async ({ page, context, baseURL, watch }) => {
    // Eight navigations, each starting the app: slow on a busy machine.
    test.setTimeout(180_000);
    const room = freshRoom('cache');
    const q = new URLSearchParams({ room, user: 'casey', name: 'Casey', role: 'customer' });
    const { token } = await (await fetch(`${baseURL}/api/dev/token?${q}`)).json();
    expect(token).toBeTruthy();
    // The made-up invite below is one no booking has: a page that gets as
    // far as exchanging it is told so (404).
    watch.allow({ name: 'the made-up invite is not known', pattern: /(HTTP 404: POST \/api\/session|status of 404 \(Not Found\) \(\/api\/session(\?slot=[\w.-]+)?\))/ });

    // The first visit installs the worker; it controls the pages opened after.
    await page.goto(customerPath(room));
    await page.evaluate(() => navigator.serviceWorker.ready);
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);

    const links = [
      `/chat/${room}#token=${token}`,
      `/chat/${room}?as=customer&name=Casey#token=${token}`,
      customerPath(room),
      therapistPath(room),
      `/chat/${room}#invite=an-invite-code`,
      `/therapist#invite=an-invite-code`,
    ];
    for (const link of links) {
      const tab = await context.newPage();
      await tab.goto(link, { waitUntil: 'commit' });
      await expect.poll(() => tab.evaluate(() => !!navigator.serviceWorker.controller), { message: link }).toBe(true);
      await tab.close();
    }
    const cachedURLs = () => page.evaluate(async () => {
      const urls: string[] = [];
      for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const req of await cache.keys()) urls.push(req.url);
      }
      return urls;
    });
    // The pages were cached (offline they open from there)...
    await expect.poll(async () => (await cachedURLs()).map((u) => new URL(u).pathname))
      .toEqual(expect.arrayContaining([`/chat/${room}`, '/therapist']));
    // ...under their path alone.
    const urls = await cachedURLs();
    for (const u of urls) {
      expect(u, 'a cached URL').not.toContain(token);
      expect(u).not.toMatch(/token=|invite=|[?&]as=|[?&]name=|#/);
      expect(new URL(u).pathname.startsWith('/api/'), `API answers are never cached: ${u}`).toBe(false);
    }

    // Offline, a link still opens its own page from the cache (not only the
    // shell of /), whatever query or fragment it carries.
    await context.setOffline(true);
    for (const [link, testId] of [[`/chat/${room}#token=${token}`, 'chat-page'], [therapistPath(room), 'therapist-page']]) {
      const tab = await context.newPage();
      const res = await tab.goto(link, { waitUntil: 'commit' });
      expect(res?.fromServiceWorker(), link).toBe(true);
      expect(res?.status(), link).toBe(200);
      expect(await res?.text(), link).toContain(`data-testid="${testId}"`);
      await tab.close();
    }
    await context.setOffline(false);
    // The open page's connection fails while offline: that is expected.
    watch.allow({ name: 'the network is offline', pattern: /net::ERR_INTERNET_DISCONNECTED|net::ERR_FAILED/ });
  });
});
