import { test, expect, waitForApp } from './fixtures';

test.describe('the app loads and runs', () => {
  test('customer chat page mounts with a connection indicator', async ({ page }, testInfo) => {
    const wasm = page.waitForResponse((r) => r.url().endsWith('/web/app.wasm'));
    await page.goto('/chat/smoke-room');
    const response = await wasm;
    expect(response.status()).toBe(200);
    expect(response.headers()['content-encoding']).toBe('br');
    expect(response.headers()['content-type']).toBe('application/wasm');

    await waitForApp(page, 'chat-page');
    // The loader is gone: go-app started and rendered the page itself.
    await expect(page.locator('#app-wasm-loader')).toHaveCount(0);

    const header = page.getByTestId('chat-header');
    await expect(header).toBeVisible();
    const indicator = header.getByTestId('connection-indicator');
    await expect(indicator).toHaveAttribute('data-quality', 'disconnected');
    await expect(indicator).toHaveAttribute('data-transport', 'none');
    await expect(indicator).toHaveAttribute('aria-label', 'Connecting');
    await expect(indicator.getByTestId('latency')).toHaveText('–');
    const dots = indicator.getByTestId('quality-dots').locator(':scope > *');
    await expect(dots).toHaveCount(3);
    for (const dot of await dots.all()) await expect(dot).toHaveAttribute('data-on', 'false');
    await expect(indicator.getByTestId('reconnect-button')).toBeEnabled();
    await expect(page.getByTestId('chat-page')).toHaveAttribute('data-room', 'smoke-room');
    await expect(page).toHaveTitle('Booking chat · tether');

    await testInfo.attach('chat page', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
  });

  test('therapist inbox mounts', async ({ page }, testInfo) => {
    await page.goto('/therapist');
    await waitForApp(page, 'therapist-page');
    await expect(page.getByTestId('chat-header').getByTestId('connection-indicator')).toBeVisible();
    await expect(page).toHaveTitle('Inbox · tether');
    await testInfo.attach('therapist page', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
  });

  test('home page links to the demo booking in dev mode', async ({ page }, testInfo) => {
    await page.goto('/');
    await waitForApp(page, 'home-page');
    await page.getByTestId('demo-customer').click();
    await expect(page).toHaveURL(/\/chat\/demo-booking\?as=customer/);
    await waitForApp(page, 'chat-page');
    await expect(page.getByTestId('chat-page')).toHaveAttribute('data-room', 'demo-booking');
    await testInfo.attach('demo chat', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
  });

  test('an unknown page is a 404', async ({ page, watch }) => {
    const notFound: string[] = [];
    page.on('response', (r) => { if (r.status() === 404) notFound.push(new URL(r.url()).pathname); });
    const response = await page.goto('/chat/a/b');
    expect(response?.status()).toBe(404);
    // Chromium logs every 404 it loads: the page's, and the favicon it asks
    // for on a page without icons; here those are the point.
    const expected = /status of 404.*\/chat\/a\/b|HTTP 404: GET \/chat\/a\/b/;
    expect(watch.problems.filter((e) => expected.test(e)).length).toBeGreaterThanOrEqual(1);
    watch.allow({ name: 'the page asked for is not found', pattern: expected });
    expect(notFound.filter((p) => p !== '/favicon.ico')).toEqual(['/chat/a/b']);
  });
});

test.describe('the service worker', () => {
  // This context allows the worker: it must install, take control, and keep
  // serving the current release from the network while the server answers.
  test('installs, controls the page and serves the live release', async ({ browser, baseURL, watch }, testInfo) => {
    // A reload cancels what the page was still fetching (the worker's
    // install reads the bundle too).
    watch.allow({ name: 'the reloads cancel what the page still fetched', pattern: /request failed: GET \/web\/\S+: net::ERR_ABORTED$/ });
    const context = await browser.newContext({ baseURL, serviceWorkers: 'allow' });
    const page = await context.newPage();
    await page.goto('/chat/worker-room');
    await waitForApp(page, 'chat-page');
    const version = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return reg.active?.scriptURL;
    });
    expect(version).toMatch(/\/app-worker\.js$/);

    // Once the worker controls the page, a reload still goes to the network
    // (network first), so the server sees the request.
    await page.reload();
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    const fromNetwork = page.waitForRequest((r) => r.url().endsWith('/chat/worker-room'));
    await page.reload();
    await fromNetwork;
    await waitForApp(page, 'chat-page');
    await testInfo.attach('with worker', { body: await page.screenshot(), contentType: 'image/png' });
    await context.close();
  });
});
