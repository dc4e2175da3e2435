import { test as base, expect, waitForApp } from './fixtures';
import { RestartableServer } from '../server';
import type { Page } from '@playwright/test';
import {
  faultProblems,
  bannerLog, bannerState, banners, bodies, connected, customerPath, freshRoom, indicator, measured, messageWithBody,
  openPerson, Person, qualities, recordBanners, recordQualities, send, setHidden, shot, status, therapistPath,
} from './chat';

// Each scenario runs against a server of its own, with the test backend on,
// that it may crash, restart and break; a customer and a therapist talk in a
// booking room in two browser contexts of their own.
const test = base.extend<{ server: RestartableServer }>({
  server: async ({ watch }, use) => {
    const server = await RestartableServer.start();
    await use(server);
    // The pages go first: a server stopped under them is not the test's fault.
    await watch.closeOpened();
    await server.dispose();
  },
});

async function pair(browser: any, server: RestartableServer, room: string): Promise<[Person, Person]> {
  const casey = await openPerson(browser, server.url, customerPath(room), 'chat-page');
  const taylor = await openPerson(browser, server.url, therapistPath(room), 'therapist-page');
  await connected(casey.page);
  await connected(taylor.page);
  return [casey, taylor];
}

async function close(...people: Person[]) {
  for (const p of people) await p.context.close();
}

/** Each body appears exactly once on the page, in this order. */
async function expectExactlyOnce(p: Person, expected: string[]) {
  for (const b of expected) await expect(messageWithBody(p.page, b)).toHaveCount(1);
  const all = await bodies(p.page);
  expect(all.filter((b) => expected.includes(b)), 'once each, in order').toEqual(expected);
}

/** The seqs of the page's messages, which must rise: the list is in seq order. */
async function expectSeqOrder(p: Person) {
  const seqs = (await p.page.getByTestId('message-list').getByTestId('message').evaluateAll(
    (els) => els.map((e) => e.getAttribute('data-seq')))).filter((s) => s).map(Number);
  expect(seqs, 'in seq order').toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size, 'no seq twice').toBe(seqs.length);
}

test.describe('resilience', () => {
  test('1. offline: pending while offline, delivered once each in order when back', async ({ browser, server, watch }, testInfo) => {
    watch.allow(faultProblems.offline);
    const room = freshRoom('r1');
    const [casey, taylor] = await pair(browser, server, room);

    // Timed from when the browser is offline (the call itself may take a
    // while on a busy machine).
    await casey.context.setOffline(true);
    const start = Date.now();
    // "offline" (not "reconnecting") says the browser's offline event did
    // it, not a heartbeat; how fast is measured, not asserted.
    await expect(indicator(casey.page)).toHaveAttribute('data-quality', 'disconnected');
    measured(testInfo, 'offline → disconnected', Date.now() - start);
    await expect(casey.page.getByTestId('connection-banner')).toHaveAttribute('data-state', 'offline');
    measured(testInfo, 'offline → banner', Date.now() - start);

    const typed = ['offline one', 'offline two', 'offline three'];
    for (const b of typed) {
      await send(casey.page, b);
      await expect(messageWithBody(casey.page, b)).toHaveAttribute('data-state', 'pending');
    }
    await shot(testInfo, 'offline with three pending', casey.page);
    // Meanwhile the therapist writes twice.
    const theirs = ['while you were away', 'and one more'];
    for (const b of theirs) await send(taylor.page, b);
    for (const b of theirs) await expect(messageWithBody(taylor.page, b)).toHaveAttribute('data-state', 'sent');

    await recordBanners(casey.page);
    await casey.context.setOffline(false);
    const back = Date.now();
    await connected(casey.page);
    measured(testInfo, 'online → connected', Date.now() - back);
    // "Back online" stays 3 s after the last message went: recorded, so
    // that a slow look cannot miss it.
    await expect.poll(() => banners(casey.page)).toContain('recovered: Back online · 3 messages sent · 2 new');
    // A picture for the report if it is still on screen.
    await casey.page.getByTestId('connection-banner').screenshot({ timeout: 2_000 }).then(
      (body) => testInfo.attach('back online: 3 messages sent, 2 new', { body, contentType: 'image/png' }),
      () => {});
    await expectExactlyOnce(taylor, typed);
    await expectExactlyOnce(casey, theirs);
    // What came in meanwhile is marked in the list, under one "New messages" line.
    for (const b of theirs) await expect(messageWithBody(casey.page, b)).toHaveAttribute('data-new', 'true');
    await expect(casey.page.getByTestId('new-divider')).toHaveCount(1);
    for (const b of typed) await expect(messageWithBody(casey.page, b)).not.toHaveAttribute('data-new', 'true');
    for (const b of typed) await expect(messageWithBody(casey.page, b)).toHaveAttribute('data-state', 'sent');
    // Then it leaves: hidden, or "Slow connection" where a busy machine
    // makes the loopback slow (what the indicator says too).
    await expect.poll(() => bannerState(casey.page), { timeout: 20_000 }).toMatch(/^(hidden|poor)$/);
    await shot(testInfo, 'therapist got them', taylor.page);
    await close(casey, taylor);
  });

  test('2. server crash: both retry, each message sent while down arrives once, history intact', async ({ browser, server, watch }, testInfo) => {
    watch.allow(faultProblems.serverDown);
    const room = freshRoom('r2');
    const [casey, taylor] = await pair(browser, server, room);
    await send(casey.page, 'before the crash');
    await expect(messageWithBody(taylor.page, 'before the crash')).toHaveCount(1);

    await server.kill();
    for (const p of [casey, taylor]) {
      const banner = p.page.getByTestId('connection-banner');
      await expect(banner).toHaveAttribute('data-state', /reconnecting|offline|suspended/, { timeout: 10_000 });
      await expect(banner.getByTestId('reconnect-attempts')).toContainText(/[1-9]/);
    }
    await send(casey.page, 'casey while down');
    await send(taylor.page, 'taylor while down');
    await expect(messageWithBody(casey.page, 'casey while down')).toHaveAttribute('data-state', 'pending');
    await shot(testInfo, 'customer while the server is down', casey.page);

    const restart = Date.now();
    await server.up();
    await connected(casey.page);
    await connected(taylor.page);
    measured(testInfo, 'crash restart → both reconnected', Date.now() - restart);
    // Who got back first decides which of the two took the lower seq; both
    // sides show the same order.
    const all = ['before the crash', 'casey while down', 'taylor while down'];
    for (const b of all) {
      await expect(messageWithBody(casey.page, b)).toHaveCount(1);
      await expect(messageWithBody(taylor.page, b)).toHaveCount(1);
    }
    await expectSeqOrder(casey);
    await expectSeqOrder(taylor);
    const order = await bodies(casey.page);
    expect(await bodies(taylor.page)).toEqual(order);

    await casey.page.reload();
    await connected(casey.page);
    await expectExactlyOnce(casey, order);
    await shot(testInfo, 'customer after a reload', casey.page);
    await close(casey, taylor);
  });

  test('3a. WebSocket refused by the server: polling both ways, then back on WebSocket', async ({ browser, server, watch }, testInfo) => {
    watch.allow(faultProblems.answers503, faultProblems.pollCancelled);
    const room = freshRoom('r3a');
    const [casey, taylor] = await pair(browser, server, room);
    await server.faults({ refuse_websocket: true, drop: 'all' });
    await expect(indicator(casey.page)).toHaveAttribute('data-transport', 'polling', { timeout: 15_000 });
    await expect(casey.page.getByTestId('connection-banner')).toHaveAttribute('data-state', 'polling', { timeout: 5_000 });
    await send(casey.page, 'from casey while polling');
    await send(taylor.page, 'from taylor while polling');
    await expect(messageWithBody(taylor.page, 'from casey while polling')).toHaveCount(1);
    await expect(messageWithBody(casey.page, 'from taylor while polling')).toHaveCount(1);
    await shot(testInfo, 'polling', casey.page);

    const unblock = Date.now();
    await server.faults({ refuse_websocket: false });
    await expect(indicator(casey.page)).toHaveAttribute('data-transport', 'websocket', { timeout: 45_000 });
    measured(testInfo, 'polling → back on WebSocket (fault API)', Date.now() - unblock);
    await send(casey.page, 'back on websocket');
    const all = ['from casey while polling', 'from taylor while polling', 'back on websocket'];
    await expectExactlyOnce(taylor, all);
    await expectExactlyOnce(casey, all);
    await close(casey, taylor);
  });

  test('3b. WebSocket blocked on the way (routeWebSocket): polling, then back on WebSocket', async ({ browser, server, watch }, testInfo) => {
    watch.allow(faultProblems.pollCancelled);
    const room = freshRoom('r3b');
    const taylor = await openPerson(browser, server.url, therapistPath(room), 'therapist-page');
    await connected(taylor.page);
    // A proxy that lets WebSocket through until told to block it.
    let blocked = true;
    const context = await browser.newContext({ baseURL: server.url, serviceWorkers: 'block' });
    await context.routeWebSocket(/\/api\/ws$/, (ws) => {
      if (blocked) {
        ws.close({ code: 1006 as any, reason: 'blocked by a proxy' }).catch(() => {});
        return;
      }
      ws.connectToServer();
    });
    const page = await context.newPage();
    await page.goto(customerPath(room));
    await expect(indicator(page)).toHaveAttribute('data-transport', 'polling', { timeout: 20_000 });
    await expect(page.getByTestId('connection-banner')).toHaveAttribute('data-state', 'polling', { timeout: 5_000 });
    await send(page, 'sent past the proxy');
    await expect(messageWithBody(taylor.page, 'sent past the proxy')).toHaveCount(1);
    await send(taylor.page, 'polled by casey');
    await expect(messageWithBody(page, 'polled by casey')).toHaveCount(1);
    await shot(testInfo, 'polling behind a proxy', page);

    const unblock = Date.now();
    blocked = false;
    await expect(indicator(page)).toHaveAttribute('data-transport', 'websocket', { timeout: 45_000 });
    measured(testInfo, 'polling → back on WebSocket (proxy)', Date.now() - unblock);
    await send(page, 'through the proxy now');
    await expect(messageWithBody(taylor.page, 'through the proxy now')).toHaveCount(1);
    expect(await bodies(page)).toEqual(['sent past the proxy', 'polled by casey', 'through the proxy now']);
    await context.close();
    await close(taylor);
  });

  test('4. latency: good, poor, disconnected, excellent again, without flapping', async ({ browser, server }, testInfo) => {
    const room = freshRoom('r4');
    const casey = await openPerson(browser, server.url, customerPath(room), 'chat-page');
    await connected(casey.page);
    await expect(indicator(casey.page)).toHaveAttribute('data-quality', 'excellent', { timeout: 20_000 });
    await recordQualities(casey.page);
    const steps: [number, string][] = [[150, 'good'], [500, 'poor'], [1500, 'disconnected'], [0, 'excellent']];
    for (const [ms, quality] of steps) {
      await server.faults({ latency_ms: ms });
      await expect(indicator(casey.page)).toHaveAttribute('data-quality', quality, { timeout: 30_000 });
      if (quality === 'poor') {
        await expect(casey.page.getByTestId('connection-banner')).toHaveAttribute('data-state', 'poor');
        await shot(testInfo, 'poor: orange banner', casey.page);
      } else {
        await shot(testInfo, `${quality} at ${ms} ms`, casey.page, 'header');
      }
    }
    // No flapping: on the way down each level comes once, in order; on the
    // way back it only gets better (a pong delayed across the switch may
    // pass through poor), ending excellent.
    const seen = await qualities(casey.page);
    const rank = (q: string) => ['excellent', 'good', 'poor', 'disconnected'].indexOf(q);
    const worst = seen.indexOf('disconnected');
    expect(seen.slice(0, worst + 1), JSON.stringify(seen)).toEqual(['excellent', 'good', 'poor', 'disconnected']);
    const up = seen.slice(worst);
    for (let i = 1; i < up.length; i++) expect(rank(up[i]), JSON.stringify(seen)).toBeLessThan(rank(up[i - 1]));
    expect(up.at(-1)).toBe('excellent');
    await close(casey);
  });

  test('5. half-open link: muted pongs detected within the heartbeat budget, then recovery', async ({ browser, server }, testInfo) => {
    const room = freshRoom('r5');
    const [casey, taylor] = await pair(browser, server, room);
    const sockets = casey.sockets.length;
    const old = casey.sockets.at(-1)!.ws;
    const start = Date.now();
    await server.faults({ mute_pongs: true });
    // Detected: the client gives the silent socket up (and dials again at
    // once, so the status shows it only for a moment). The heartbeat budget
    // (20 s) is the timeout of that wait, started once the fault is on: a
    // clock read around it also counted the fault call and Playwright's
    // report of the close, and beside a CPU hog came to 20.19 s.
    await old.waitForEvent('close', { timeout: 20_000 });
    measured(testInfo, 'half-open → detected', Date.now() - start);
    await shot(testInfo, 'half-open detected', casey.page);

    await server.faults({ mute_pongs: false });
    await connected(casey.page);
    await expect.poll(() => casey.sockets.length, { message: 'a new socket' }).toBeGreaterThan(sockets);
    await send(taylor.page, 'after the half-open link');
    await expect(messageWithBody(casey.page, 'after the half-open link')).toHaveCount(1);
    await close(casey, taylor);
  });

  test('6. token expiry is renewed; a stranger gets a clear error and no retry loop', async ({ browser, server, watch }, testInfo) => {
    const room = freshRoom('r6');
    // The stranger's page asks for the room's history and is refused.
    watch.allow({
      name: 'the stranger is refused the history of the room',
      pattern: new RegExp(`(HTTP 403: GET |status of 403 \\(Forbidden\\) \\()/api/rooms/${room}/messages\\?`),
    });
    // Tokens that live 3 s: the page renews each at 80 % of its life on
    // the live socket (an auth frame); one renewed too late is closed 4401
    // and the page comes back on a new socket with a new token. Either way
    // is a renewal.
    const casey = await openPerson(browser, server.url, customerPath(room) + '&ttl=3', 'chat-page');
    await connected(casey.page);
    const taylor = await openPerson(browser, server.url, therapistPath(room), 'therapist-page');
    const renewed = () => casey.sockets.flatMap((s) => s.sent).filter((f) => f.type === 'auth').length + casey.sockets.length - 1;
    await expect.poll(renewed, { timeout: 20_000, message: 'two expiries, two renewals' }).toBeGreaterThanOrEqual(2);
    await connected(casey.page);
    await send(casey.page, 'still here after two expiries');
    await expect(messageWithBody(taylor.page, 'still here after two expiries')).toHaveCount(1);
    expect((await status(casey.page)).state).not.toBe('unauthorized');

    // A customer of another booking opens this room.
    const other = freshRoom('r6-other');
    const q = new URLSearchParams({ room: other, user: 'sam-stranger', name: 'Sam', role: 'customer' });
    const { token } = await (await fetch(`${server.url}/api/dev/token?${q}`)).json();
    const sam = await openPerson(browser, server.url, `/chat/${room}#token=${token}`, 'chat-page');
    await expect(sam.page.getByTestId('chat-error')).toContainText('not part of this booking');
    await expect(sam.page.getByTestId('composer-input')).toBeVisible();
    await shot(testInfo, 'a stranger', sam.page);
    // No retry loop: the connection stays up (a ping and its pong go by)
    // and the room was asked for once.
    const ws = sam.sockets[0];
    await ws.ws.waitForEvent('framereceived', { predicate: (f) => String(f.payload).includes('"pong"'), timeout: 15_000 });
    const subscribes = sam.sockets.flatMap((s) => s.sent).filter((f) => f.type === 'subscribe' && f.room === room);
    expect(sam.sockets.length, 'one socket').toBe(1);
    expect(subscribes.length, 'asked once').toBeLessThanOrEqual(1);
    expect(await bodies(sam.page)).toEqual([]);
    await close(casey, taylor, sam);
  });

  test('7. rolling restart: clients come back spread over the drain window, nothing lost', async ({ browser, server, watch }, testInfo) => {
    watch.allow(faultProblems.serverDown, faultProblems.answers503);
    // Six people, each a context of its own: beside the soak on two cores
    // opening them alone took most of 90 s (46 s for the whole test alone).
    test.setTimeout(180_000);
    const room = freshRoom('r7');
    const [casey, taylor] = await pair(browser, server, room);
    const others: Person[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await openPerson(browser, server.url, customerPath(room, `Guest ${i}`), 'chat-page');
      await connected(p.page);
      others.push(p);
    }
    const everyone = [casey, taylor, ...others];
    await send(casey.page, 'before the restart');
    await expect(messageWithBody(taylor.page, 'before the restart')).toHaveCount(1);

    const before = everyone.map((p) => p.sockets.length);
    const drainAt = Date.now();
    const code = await server.terminate();
    expect(code, 'a clean exit on SIGTERM').toBe(0);
    await server.up();
    await send(taylor.page, 'during the restart');
    for (const [i, p] of everyone.entries()) {
      await expect.poll(() => p.sockets.length, { timeout: 30_000 }).toBeGreaterThan(before[i]);
      await connected(p.page);
    }
    // When each client opened its first socket after the drain began.
    const offsets = everyone.map((p, i) => p.sockets[before[i]].openedAt - drainAt).sort((x, y) => x - y);
    const spread = offsets[offsets.length - 1] - offsets[0];
    measured(testInfo, 'drain → first client back', offsets[0]);
    measured(testInfo, 'drain → last client back', offsets[offsets.length - 1]);
    measured(testInfo, `spread of ${offsets.length} comebacks over the drain window`, spread);
    expect(spread, 'spread over the window, not all at once').toBeGreaterThan(300);
    const all = ['before the restart', 'during the restart'];
    for (const p of [casey, taylor]) await expectExactlyOnce(p, all);
    await close(...everyone);
  });

  test('8. reload with a pending outbox: typed offline, tab closed, sent once when it opens again', async ({ browser, server, watch }, testInfo) => {
    watch.allow(faultProblems.offline);
    const room = freshRoom('r8');
    const [casey, taylor] = await pair(browser, server, room);
    await casey.context.setOffline(true);
    await expect(indicator(casey.page)).toHaveAttribute('data-quality', 'disconnected');
    const typed = ['typed before closing the tab', 'and a second one'];
    for (const b of typed) {
      await send(casey.page, b);
      await expect(messageWithBody(casey.page, b)).toHaveAttribute('data-state', 'pending');
    }
    await casey.page.close();
    await casey.context.setOffline(false);

    const page = await casey.context.newPage();
    await page.goto(customerPath(room));
    await connected(page);
    await expectExactlyOnce(taylor, typed);
    for (const b of typed) await expect(messageWithBody(page, b)).toHaveAttribute('data-state', 'sent');
    expect((await bodies(page)).filter((b) => typed.includes(b))).toEqual(typed);
    await shot(testInfo, 'the reopened tab', page);
    await close(casey, taylor);
  });

  test('9. hidden tab: visible again after the socket died, reconnected before the next retry was due', async ({ browser, server, watch }, testInfo) => {
    watch.allow(faultProblems.serverDown);
    const room = freshRoom('r9');
    const casey = await openPerson(browser, server.url, customerPath(room), 'chat-page');
    await connected(casey.page);
    await setHidden(casey.page, true);
    await server.kill();
    // Wait until the next attempt is far off, as after a long sleep.
    await expect.poll(async () => {
      const s = await status(casey.page);
      return s?.nextRetryAt ? s.nextRetryAt - Date.now() : 0;
    }, { timeout: 60_000, intervals: [250] }).toBeGreaterThan(8_000);
    await server.up();
    // The page notes when it is back on WebSocket, by its own clock, the
    // clock of nextRetryAt: back before the retry was due means becoming
    // visible did it, however long this test's own steps take.
    const due: number = await casey.page.evaluate(() => {
      const w = window as any;
      const el = document.querySelector('[data-testid=chat-header] [data-testid=connection-indicator]')!;
      new MutationObserver(() => {
        if (!w.__backAt && el.getAttribute('data-transport') === 'websocket') w.__backAt = Date.now();
      }).observe(el, { attributes: true, attributeFilter: ['data-transport'] });
      return w.tether.status().nextRetryAt;
    });
    expect(due, 'still waiting for the retry when the server is back').toBeTruthy();
    const shown = Date.now();
    await setHidden(casey.page, false);
    await connected(casey.page);
    measured(testInfo, 'visible → reconnected', Date.now() - shown);
    const backAt: number = await casey.page.evaluate(() => (window as any).__backAt);
    expect(backAt, 'back on WebSocket before the scheduled retry').toBeLessThan(due);
    await shot(testInfo, 'visible again', casey.page);
    await close(casey);
  });
  test('11. a silent outage of 45 s: back on WebSocket, never polling, once the link returns', async ({ browser, server, watch }, testInfo) => {
    // What the client cancels of its own when a request hangs.
    watch.allow({ name: 'the client gives up requests the silent link holds', pattern: /net::ERR_ABORTED|net::ERR_FAILED/ });
    test.setTimeout(150_000);
    const room = freshRoom('r11');
    const taylor = await openPerson(browser, server.url, therapistPath(room), 'therapist-page');
    await connected(taylor.page);
    // Casey's link goes silent both ways: nothing is refused, nothing
    // closes, nothing gets through (a dead Wi-Fi, a tunnel); the browser
    // still says online.
    let silent = false;
    const context = await browser.newContext({ baseURL: server.url, serviceWorkers: 'block' });
    await context.routeWebSocket(/\/api\/ws$/, (ws) => {
      if (silent) return; // never reaches the server: no welcome ever comes
      const upstream = ws.connectToServer();
      ws.onMessage((m) => { if (!silent) upstream.send(m); });
      upstream.onMessage((m) => { if (!silent) ws.send(m); });
    });
    await context.route('**/api/**', (route) => {
      if (silent) return; // held: answered by nobody
      route.fallback();
    });
    const page = await context.newPage();
    await page.goto(customerPath(room));
    await waitForApp(page, 'chat-page');
    await connected(page);
    await send(page, 'before the tunnel');
    await expect(messageWithBody(taylor.page, 'before the tunnel')).toHaveCount(1);
    await recordBanners(page);

    silent = true;
    const from = Date.now();
    await expect(indicator(page)).toHaveAttribute('data-quality', 'disconnected', { timeout: 40_000 });
    await send(taylor.page, 'said during the tunnel');
    // The outage lasts 45 s, however long noticing it took.
    await page.waitForTimeout(Math.max(0, 45_000 - (Date.now() - from)));

    silent = false;
    const back = Date.now();
    await expect(indicator(page)).toHaveAttribute('data-transport', 'websocket', { timeout: 30_000 });
    measured(testInfo, 'link back → WebSocket', Date.now() - back);
    await expect(messageWithBody(page, 'said during the tunnel')).toHaveCount(1);
    const seen = await banners(page);
    expect(seen.filter((b) => b.startsWith('polling')), `never the polling banner: ${JSON.stringify(await bannerLog(page))}`).toEqual([]);
    expect((await status(page)).connectionType).toBe('websocket');
    await context.close();
    await close(taylor);
  });
  test('12. hidden: a link that stops answering is noticed and replaced before the page shows again', async ({ browser, server }, testInfo) => {
    test.setTimeout(120_000);
    const room = freshRoom('r12');
    const casey = await openPerson(browser, server.url, customerPath(room), 'chat-page');
    await connected(casey.page);
    await setHidden(casey.page, true);
    // Pings go unanswered from now on (a NAT that dropped the idle
    // connection, as far as the page can tell).
    const before = casey.sockets.length;
    await server.faults({ mute_pongs: true });
    const cut = Date.now();
    // Still hidden: the page notices by its own hidden heartbeat and opens
    // a new socket.
    await expect.poll(() => casey.sockets.length, { timeout: 90_000, message: 'a new socket while hidden' }).toBeGreaterThan(before);
    measured(testInfo, 'pongs muted → new socket, hidden', Date.now() - cut);
    await server.faults({ mute_pongs: false });
    await expect(indicator(casey.page)).toHaveAttribute('data-transport', 'websocket', { timeout: 30_000 });
    expect(await casey.page.evaluate(() => document.visibilityState), 'never shown meanwhile').toBe('hidden');
    const taylor = await openPerson(browser, server.url, therapistPath(room), 'therapist-page');
    await connected(taylor.page);
    await send(taylor.page, 'while you were in the background');
    await expect(messageWithBody(casey.page, 'while you were in the background')).toHaveCount(1);
    await setHidden(casey.page, false);
    await connected(casey.page);
    await close(casey, taylor);
  });
  test('13. two tabs typed offline, one closed before going online: every message delivered once', async ({ browser, server, watch }) => {
    watch.allow(faultProblems.offline);
    const room = freshRoom('r13');
    const taylor = await openPerson(browser, server.url, therapistPath(room), 'therapist-page');
    await connected(taylor.page);
    // Casey has the chat open in two tabs of one browser.
    const context = await browser.newContext({ baseURL: server.url, serviceWorkers: 'block' });
    const tabs: Page[] = [];
    for (let i = 0; i < 2; i++) {
      const tab = await context.newPage();
      await tab.goto(customerPath(room));
      await waitForApp(tab, 'chat-page');
      await connected(tab);
      tabs.push(tab);
    }
    const [a, b] = tabs;
    await context.setOffline(true);
    // Typed only once each tab gave its silent socket up: Chromium holds an
    // open socket's frames while offline and lets them go when it is back,
    // even for a tab closed meanwhile, which would hide what this test is
    // about (what is kept in storage).
    for (const tab of tabs) {
      await expect(indicator(tab)).toHaveAttribute('data-quality', 'disconnected');
      await expect.poll(async () => (await status(tab)).reconnectAttempts, { timeout: 20_000 }).toBeGreaterThan(0);
    }
    const typed: [Page, string][] = [[a, 'typed in tab A'], [b, 'typed in tab B'], [a, 'and again in A']];
    for (const [tab, body] of typed) {
      await send(tab, body);
      await expect(messageWithBody(tab, body)).toHaveAttribute('data-state', 'pending');
    }
    // Tab A is closed before the network comes back.
    await a.close();
    await context.setOffline(false);
    await connected(b);
    const bodiesTyped = typed.map(([, body]) => body);
    for (const body of bodiesTyped) {
      await expect(messageWithBody(taylor.page, body), `${body}: delivered once`).toHaveCount(1, { timeout: 20_000 });
      await expect(messageWithBody(b, body), `${body}: shown once in tab B`).toHaveCount(1);
    }
    expect((await bodies(taylor.page)).filter((x) => bodiesTyped.includes(x)).length).toBe(3);
    await context.close();
    await close(taylor);
  });
});
