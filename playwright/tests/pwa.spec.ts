import { test, expect, waitForApp } from './fixtures';
import { connected, freshRoom, indicator, messageWithBody, send, therapistPath } from './chat';

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

  test('opens offline once installed, and sends what was typed offline when back', async ({ page, context, consoleErrors }, testInfo) => {
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
    const offline = /net::ERR_INTERNET_DISCONNECTED|net::ERR_FAILED/;
    consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !offline.test(e)));
  });
});
