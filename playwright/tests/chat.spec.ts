import { test, expect } from './fixtures';
import { TetherServer } from '../server';
import { bannerLog, bannerState, bodies, connected, customerPath, faultProblems, freshRoom, inboxRoom, indicator, messageWithBody, openPerson, postMessages, recordBanners, send, shot, status, therapistPath } from './chat';

test.describe('the chat between a customer and a therapist', () => {
  test('they exchange messages both ways, each shown once, pending then sent', async ({ browser, baseURL }, testInfo) => {
    const room = freshRoom('booking');
    const casey = await openPerson(browser, baseURL!, customerPath(room), 'chat-page');
    const taylor = await openPerson(browser, baseURL!, therapistPath(room), 'therapist-page');
    await connected(casey.page);
    await connected(taylor.page);
    // The service's log lines reach the console, one line each, with the
    // original's emoji that people search their logs for.
    await expect.poll(() => casey.console.filter((l) => /🔌 ConnectionStability: Initializing|✅ ConnectionStability: WebSocket connected/.test(l)).length).toBe(2);
    // Dev mode's ?as= made the room a demo booking of the two: each header
    // names the other party and the appointment.
    await expect(casey.page.getByTestId('chat-header').getByTestId('other-party')).toHaveText('Taylor');
    await expect(taylor.page.getByTestId('chat-header').getByTestId('other-party')).toHaveText('Casey');
    await expect(casey.page.getByTestId('chat-header').getByTestId('booking-title')).toHaveText('Demo session, 60 min');

    await send(casey.page, 'Hello, is 3 pm still fine?');
    const mine = messageWithBody(casey.page, 'Hello, is 3 pm still fine?');
    await expect(mine).toHaveAttribute('data-mine', 'true');
    await expect(mine).toHaveAttribute('data-state', 'sent');
    await expect(mine).toHaveAttribute('data-seq', /^[1-9][0-9]*$/);
    await expect(casey.page.getByTestId('composer-input')).toHaveValue('');

    const theirs = messageWithBody(taylor.page, 'Hello, is 3 pm still fine?');
    await expect(theirs).toHaveAttribute('data-mine', 'false');
    await expect(theirs).toHaveAttribute('data-state', 'sent');

    await send(taylor.page, 'Yes, see you at 3.');
    await expect(messageWithBody(casey.page, 'Yes, see you at 3.')).toHaveAttribute('data-mine', 'false');
    await expect(messageWithBody(taylor.page, 'Yes, see you at 3.')).toHaveAttribute('data-state', 'sent');

    // The inbox lists the booking; Shift+Enter breaks a line instead of sending.
    await expect(inboxRoom(taylor.page, room)).toBeVisible();
    const input = casey.page.getByTestId('composer-input');
    await input.fill('line one');
    await input.press('Shift+Enter');
    await input.pressSequentially('line two');
    await expect(input).toHaveValue('line one\nline two');
    await input.press('Enter');
    await expect(messageWithBody(taylor.page, 'line one\nline two')).toHaveCount(1);

    expect(await bodies(casey.page)).toEqual(['Hello, is 3 pm still fine?', 'Yes, see you at 3.', 'line one\nline two']);
    expect(await bodies(taylor.page)).toEqual(['Hello, is 3 pm still fine?', 'Yes, see you at 3.', 'line one\nline two']);

    await shot(testInfo, 'customer', casey.page);
    await shot(testInfo, 'therapist', taylor.page);
    await casey.context.close();
    await taylor.context.close();
  });

  test('a body with HTML is shown as text', async ({ browser, baseURL }, testInfo) => {
    const room = freshRoom('xss');
    const casey = await openPerson(browser, baseURL!, customerPath(room), 'chat-page');
    const taylor = await openPerson(browser, baseURL!, therapistPath(room), 'therapist-page');
    let dialogs = 0;
    for (const p of [casey.page, taylor.page]) p.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
    const evil = '<img src=x onerror=alert(1)>';
    await connected(casey.page);
    await send(casey.page, evil);
    for (const p of [casey.page, taylor.page]) {
      await expect(messageWithBody(p, evil)).toHaveCount(1);
      await expect(p.getByTestId('message-list').locator('img')).toHaveCount(0);
    }
    expect(dialogs).toBe(0);
    await shot(testInfo, 'html as text', taylor.page);
    await casey.context.close();
    await taylor.context.close();
  });

  test('older history loads when scrolling up', async ({ browser, baseURL }, testInfo) => {
    const room = freshRoom('history');
    const all = Array.from({ length: 70 }, (_, i) => `history ${String(i + 1).padStart(2, '0')}`);
    await postMessages(baseURL!, room, 'casey-history', all);
    const casey = await openPerson(browser, baseURL!, customerPath(room, 'casey-history'), 'chat-page');
    // The newest page first, scrolled to the newest message.
    await expect(messageWithBody(casey.page, 'history 70')).toBeInViewport();
    await expect(messageWithBody(casey.page, 'history 01')).toHaveCount(0);
    const shown = (await bodies(casey.page)).length;
    expect(shown).toBeLessThan(70);

    await casey.page.getByTestId('message-list').evaluate((el) => { el.scrollTop = 0; });
    await expect(messageWithBody(casey.page, 'history 01')).toHaveCount(1);
    expect(await bodies(casey.page)).toEqual(all);
    await expect(casey.page.getByTestId('load-older')).toHaveCount(0);
    await shot(testInfo, 'history loaded', casey.page);
    await casey.context.close();
  });

  test('the inbox counts unread messages of the other bookings', async ({ browser, baseURL }, testInfo) => {
    const open = freshRoom('open');
    const other = freshRoom('other');
    await postMessages(baseURL!, other, 'sam-other', ['first booking question']);
    const taylor = await openPerson(browser, baseURL!, therapistPath(open), 'therapist-page');
    await connected(taylor.page);
    const otherRoom = inboxRoom(taylor.page, other);
    await expect(otherRoom).toBeVisible();
    await expect(otherRoom.getByTestId('unread')).toHaveCount(0);

    const sam = await openPerson(browser, baseURL!, customerPath(other, 'sam-other'), 'chat-page');
    await connected(sam.page);
    await send(sam.page, 'are you there?');
    await send(sam.page, 'one more thing');
    await expect(otherRoom.getByTestId('unread')).toHaveText('2');
    await expect(otherRoom).toContainText('one more thing');
    await shot(testInfo, 'inbox with unread', taylor.page);

    await otherRoom.click();
    await expect(taylor.page.getByTestId('therapist-page')).toHaveAttribute('data-room', other);
    await expect(messageWithBody(taylor.page, 'one more thing')).toHaveCount(1);
    await expect(otherRoom.getByTestId('unread')).toHaveCount(0);
    await taylor.context.close();
    await sam.context.close();
  });

  test('a phone-sized screen shows the whole chat', async ({ browser, baseURL }, testInfo) => {
    const room = freshRoom('phone');
    const phone = { width: 375, height: 740 };
    const casey = await openPerson(browser, baseURL!, customerPath(room), 'chat-page', phone);
    const taylor = await openPerson(browser, baseURL!, therapistPath(room), 'therapist-page', phone);
    await connected(casey.page);
    await send(casey.page, 'Running 5 minutes late, sorry!');
    await expect(messageWithBody(taylor.page, 'Running 5 minutes late, sorry!')).toHaveCount(1);
    await send(taylor.page, 'No problem, take your time.');
    await expect(messageWithBody(casey.page, 'No problem, take your time.')).toHaveCount(1);
    for (const p of [casey.page, taylor.page]) {
      await expect(p.getByTestId('composer-input')).toBeInViewport();
      // Nothing is wider than the screen.
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    }
    await shot(testInfo, 'customer on a phone', casey.page);
    await shot(testInfo, 'therapist on a phone', taylor.page);
    await casey.context.close();
    await taylor.context.close();
  });
});

test.describe('the status tells the truth', () => {
  let server: TetherServer;
  test.beforeEach(async () => { server = await TetherServer.start({ args: ['-faults'] }); });
  test.afterEach(async () => { await server.stop(); });

  test('offline: disconnected on the offline event although the old socket stays open; back online on a fresh socket with the room resumed', async ({ browser, watch }, testInfo) => {
    watch.allow(faultProblems.offline);
    const room = freshRoom('offline');
    const casey = await openPerson(browser, server.url, customerPath(room), 'chat-page');
    const taylor = await openPerson(browser, server.url, therapistPath(room), 'therapist-page');
    await connected(casey.page);
    await connected(taylor.page);
    await send(casey.page, 'before');
    await expect(messageWithBody(taylor.page, 'before')).toHaveCount(1);
    const first = casey.sockets.at(-1)!;
    await shot(testInfo, 'excellent: header', casey.page, 'header');

    await recordBanners(casey.page);
    const start = Date.now();
    await casey.context.setOffline(true);
    // The offline event, not a heartbeat: the old socket is still open.
    await expect(indicator(casey.page)).toHaveAttribute('data-quality', 'disconnected');
    console.log(`offline → disconnected in ${Date.now() - start} ms`);
    expect(first.ws.isClosed(), 'Chromium keeps the old socket open').toBe(false);
    const banner = casey.page.getByTestId('connection-banner');
    await expect(banner).toHaveAttribute('data-state', 'offline');
    await shot(testInfo, 'offline: header', casey.page, 'header');
    await shot(testInfo, 'offline: banner', casey.page, 'banner');

    // The therapist writes while the customer is offline.
    await send(taylor.page, 'while you were away');
    await expect(messageWithBody(taylor.page, 'while you were away')).toHaveAttribute('data-state', 'sent');

    // Chromium holds the old socket's frames while offline and lets them go
    // when the network is back: the verify ping's pong may then beat the
    // online event, and a socket that answers is rightly kept. The old socket
    // is replaced for sure once the page gives up on it (no pong within the
    // verify timeout): wait for that, as the status tells it.
    await expect.poll(() => casey.page.evaluate(() => (window as any).tether.status().reconnectAttempts),
      { message: 'the page gives up the silent socket and tries again' }).toBeGreaterThan(0);
    await expect(indicator(casey.page)).toHaveAttribute('data-quality', 'disconnected');

    const socketsBefore = casey.sockets.length;
    const back = Date.now();
    await casey.context.setOffline(false);
    await connected(casey.page);
    console.log(`online → connected in ${Date.now() - back} ms`);
    // Playwright reports the page's new socket a moment after the page may
    // already show it connected: wait for the report, not for a time.
    await expect.poll(() => casey.sockets.length, { message: 'a fresh socket' }).toBeGreaterThan(socketsBefore);
    const fresh = casey.sockets.at(-1)!;
    expect(fresh.ws).not.toBe(first.ws);
    await expect.poll(() => fresh.sent.some((f) => f.type === 'hello'), { message: 'hello on the fresh socket' }).toBe(true);
    await expect(messageWithBody(casey.page, 'while you were away')).toHaveCount(1);
    // The room resumed from the last seq it had, not from the start.
    const hello = fresh.sent.find((f) => f.type === 'hello');
    const subscribe = fresh.sent.find((f) => f.type === 'subscribe' && f.room === room);
    const resumedFrom = hello?.resume?.[room] ?? subscribe?.since;
    expect(resumedFrom, JSON.stringify(fresh.sent)).toBeGreaterThan(0);
    try {
      await expect.poll(() => bannerState(casey.page), { timeout: 20_000, message: 'the banner leaves (or says the link is slow)' })
        .toMatch(/^(hidden|poor)$/);
    } catch (err) {
      // What the banner went through, and the status it stayed on.
      throw new Error(`${err}\nbanners: ${JSON.stringify(await bannerLog(casey.page))}\nstatus: ${JSON.stringify(await status(casey.page))}`
        + `\noutbox: ${JSON.stringify(await casey.page.evaluate(() => (window as any).tether?.outbox()))}`);
    }
    expect(await bodies(casey.page)).toEqual(['before', 'while you were away']);
    await casey.context.close();
    await taylor.context.close();
  });
});
