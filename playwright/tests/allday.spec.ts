import type { Browser, Page, WebSocket } from '@playwright/test';
import { test, expect, waitForApp } from './fixtures';
import { bannerLog, banners, bodies, connected, measured, customerPath, freshRoom, inboxRoom, messageWithBody, openPerson, recordBanners, send, setHidden, therapistPath } from './chat';


type Tab = { page: Page; sockets: WebSocket[]; welcomed: number[] };

/** Casey's chat of room in two tabs of one browser, each connected; the
 * leader is the tab that holds the socket. */
async function twoTabs(browser: Browser, baseURL: string, room: string) {
  const context = await browser.newContext({ baseURL, serviceWorkers: 'block' });
  const tabs: Tab[] = [];
  for (let i = 0; i < 2; i++) {
    const page = await context.newPage();
    const tab: Tab = { page, sockets: [], welcomed: [] };
    page.on('websocket', (ws) => {
      tab.sockets.push(ws);
      ws.on('framereceived', (f) => {
        if (String(f.payload).includes('"type":"welcome"')) tab.welcomed.push(Date.now());
      });
    });
    await page.goto(customerPath(room));
    await waitForApp(page, 'chat-page');
    await connected(page);
    tabs.push(tab);
  }
  const open = (t: Tab) => t.sockets.filter((ws) => !ws.isClosed()).length;
  const [leader, follower] = open(tabs[0]) === 1 ? tabs : [tabs[1], tabs[0]];
  return { context, tabs, leader, follower, open };
}

// The therapist's all-day app (DESIGN §7): what happens while it sits in
// the background.
test.describe('the all-day app', () => {
  test('in the background, a message raises a notification and the title counts it', async ({ browser, baseURL, watch }) => {
    // The reload at the end cancels what the page was still loading.
    watch.allow({ name: 'the reload cancels what the page was loading', pattern: /request failed: GET \/web\/\S+: net::ERR_ABORTED$/ });
    const room = freshRoom('alerts');
    // Notifications allowed in this context, as a user would allow them;
    // each one the page raises is recorded as well as shown.
    const context = await browser.newContext({ baseURL, serviceWorkers: 'block', permissions: ['notifications'] });
    await context.addInitScript(() => {
      const Real = window.Notification;
      const w = window as any;
      w.__notes = [];
      class Recorded extends Real {
        constructor(title: string, opts?: NotificationOptions) {
          super(title, opts);
          w.__notes.push({ title, body: opts?.body, tag: opts?.tag, note: this });
        }
      }
      Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
      (Recorded as any).requestPermission = (...args: any[]) => (Real as any).requestPermission(...args);
      w.Notification = Recorded;
    });
    const page = await context.newPage();
    await page.goto(therapistPath(room));
    await waitForApp(page, 'therapist-page');
    await connected(page);
    const toggle = page.getByTestId('chat-header').getByTestId('notifications-toggle');
    await expect(toggle).toHaveAttribute('data-state', 'off');
    await toggle.click();
    await expect(toggle).toHaveAttribute('data-state', 'on');
    const title = await page.title();
    expect(title).not.toMatch(/^\(\d+\)/);

    const casey = await openPerson(browser, baseURL!, customerPath(room), 'chat-page');
    await connected(casey.page);
    await setHidden(page, true);
    await send(casey.page, 'are you free at 3?');
    await send(casey.page, 'or at 4?');
    await expect.poll(() => page.title()).toBe(`(2) ${title}`);
    const notes = () => page.evaluate(() => (window as any).__notes.map((n: any) => `${n.tag} | ${n.title} | ${n.body}`));
    await expect.poll(notes).toContain(`${room} | Casey | or at 4?`);
    expect((await notes()).every((n: string) => n.startsWith(`${room} | `)), 'one tag: the room').toBe(true);

    // Back in front: the count goes.
    await setHidden(page, false);
    await expect.poll(() => page.title()).toBe(title);
    // Visible, a message raises nothing and counts nothing.
    const before = (await notes()).length;
    await send(casey.page, 'see you then');
    await expect(page.getByTestId('message-body').filter({ hasText: 'see you then' })).toHaveCount(1);
    expect((await notes()).length).toBe(before);
    expect(await page.title()).toBe(title);
    // A notification of another booking, clicked, opens that chat.
    const other = freshRoom('alerts-other');
    const sam = await openPerson(browser, baseURL!, customerPath(other, 'Sam'), 'chat-page');
    await connected(sam.page);
    await send(sam.page, 'hello');
    // The inbox follows the new booking (its list is read again every 20 s).
    await expect(inboxRoom(page, other)).toBeVisible({ timeout: 30_000 });
    await setHidden(page, true);
    await send(sam.page, 'a question about my booking');
    await expect.poll(notes).toContain(`${other} | Sam | a question about my booking`);
    await page.evaluate((tag) => {
      const all = (window as any).__notes;
      const n = all.filter((x: any) => x.tag === tag).pop();
      n.note.onclick?.(new Event('click'));
    }, other);
    await setHidden(page, false);
    await expect(page.getByTestId('therapist-page')).toHaveAttribute('data-room', other);

    // The choice is kept: a reload finds alerts on.
    await page.reload();
    await waitForApp(page, 'therapist-page');
    await expect(toggle).toHaveAttribute('data-state', 'on');
  });
  test('a page that did not run for 45 s while three messages came: back at once, welcomed with "3 new"', async ({ browser, baseURL }, testInfo) => {
    test.setTimeout(120_000);
    const room = freshRoom('frozen');
    const casey = await openPerson(browser, baseURL!, customerPath(room), 'chat-page');
    const taylor = await openPerson(browser, baseURL!, therapistPath(room), 'therapist-page');
    await connected(casey.page);
    await connected(taylor.page);
    await recordBanners(casey.page);
    // The page stops running (a phone's background tab, a laptop's saver):
    // no script runs, its socket stays with the browser. Paused through the
    // debugger: this Chromium's lifecycle emulation (Page.setWebLifecycleState)
    // leaves the page running.
    const cdp = await casey.context.newCDPSession(casey.page);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    const frozenAt = Date.now();
    const theirs = ['are you there?', 'I am running late', 'ten minutes'];
    for (const b of theirs) await send(taylor.page, b);
    for (const b of theirs) await expect(messageWithBody(taylor.page, b)).toHaveAttribute('data-state', 'sent');
    await new Promise((r) => setTimeout(r, Math.max(0, 45_000 - (Date.now() - frozenAt))));
    await cdp.send('Debugger.resume');
    const resumed = Date.now();
    for (const b of theirs) await expect(messageWithBody(casey.page, b)).toHaveCount(1);
    testInfo.annotations.push({ type: 'measured', description: `resume → the three messages shown: ${Date.now() - resumed} ms` });
    await connected(casey.page);
    await expect.poll(() => banners(casey.page), { message: 'the welcome back' }).toContain('recovered: Welcome back · 3 new');
    for (const b of theirs) await expect(messageWithBody(casey.page, b)).toHaveAttribute('data-new', 'true');
    expect(casey.sockets.length, `the socket held: ${JSON.stringify(await bannerLog(casey.page))}`).toBeGreaterThanOrEqual(1);
  });
  test('the installed app shows its notifications through its worker', async ({ browser, baseURL }) => {
    // Chrome on Android has no Notification constructor: where a worker
    // controls the page, it shows them (and opens the chat on a click).
    const room = freshRoom('alerts-sw');
    const context = await browser.newContext({ baseURL, serviceWorkers: 'allow', permissions: ['notifications'] });
    // Notifications the page shows itself (the fallback) are kept, for a
    // failure to tell "shown by the page instead" from "not shown at all".
    await context.addInitScript(() => {
      const w = window as any;
      const Page = w.Notification;
      if (!Page) return;
      w.__pageNotifications = [];
      w.Notification = new Proxy(Page, {
        construct(target, args) {
          w.__pageNotifications.push(`${args[1]?.tag} | ${args[0]} | ${args[1]?.body}`);
          return Reflect.construct(target, args);
        },
      });
    });
    const page = await context.newPage();
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(m.text()));
    await page.goto(therapistPath(room));
    await waitForApp(page, 'therapist-page');
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await connected(page);
    const toggle = page.getByTestId('chat-header').getByTestId('notifications-toggle');
    await toggle.click();
    await expect(toggle).toHaveAttribute('data-state', 'on');
    const casey = await openPerson(browser, baseURL!, customerPath(room), 'chat-page');
    await connected(casey.page);
    await setHidden(page, true);
    await send(casey.page, 'through the worker');
    const shown = () => page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return (await reg.getNotifications()).map((n) => `${n.tag} | ${n.title} | ${n.body} | ${(n.data as any)?.url}`);
    });
    try {
      await expect.poll(shown).toContain(`${room} | Casey | through the worker | /therapist?room=${room}`);
    } catch (err) {
      const state = await page.evaluate(() => ({
        pageNotifications: (window as any).__pageNotifications,
        controlled: !!navigator.serviceWorker.controller,
        visibility: document.visibilityState,
        title: document.title,
      }));
      throw new Error(`${err}\npage: ${JSON.stringify(state)}\nconsole: ${consoleLines.slice(-15).join('\n')}`);
    }
    await context.close();
  });

  test('two tabs of one browser hold one connection; the leading tab closes, the other is connected within a second and nothing is lost', async ({ browser, baseURL }, testInfo) => {
    const room = freshRoom('tabs');
    const taylor = await openPerson(browser, baseURL!, therapistPath(room), 'therapist-page');
    await connected(taylor.page);
    // Casey has the chat open in two tabs of one browser.
    const { context, tabs, leader, follower, open } = await twoTabs(browser, baseURL!, room);
    expect(open(tabs[0]) + open(tabs[1]), 'one WebSocket for both tabs').toBe(1);
    expect(follower.sockets, 'the other tab never opened one').toHaveLength(0);

    // Both ways, through the one connection.
    await send(taylor.page, 'hello to both tabs');
    for (const t of tabs) await expect(messageWithBody(t.page, 'hello to both tabs')).toHaveCount(1);
    await send(follower.page, 'from the tab without the socket');
    await expect(messageWithBody(follower.page, 'from the tab without the socket')).toHaveAttribute('data-state', 'sent');
    await expect(messageWithBody(taylor.page, 'from the tab without the socket')).toHaveCount(1);
    await expect(messageWithBody(leader.page, 'from the tab without the socket')).toHaveCount(1);

    // The leading tab closes: the other takes the connection over.
    const closed = Date.now();
    await leader.page.close();
    await expect.poll(() => follower.welcomed.length, { message: 'the other tab connects on its own socket' }).toBeGreaterThan(0);
    const took = follower.welcomed[0] - closed;
    measured(testInfo, 'leader tab closed → the other tab welcomed on its own socket', took);
    expect(took, 'connected within a second of the close').toBeLessThanOrEqual(1000);
    await connected(follower.page);
    expect(open(follower)).toBe(1);

    // Nothing lost either way across the handover.
    await send(taylor.page, 'after the handover');
    await expect(messageWithBody(follower.page, 'after the handover')).toHaveCount(1);
    await send(follower.page, 'and back');
    await expect(messageWithBody(taylor.page, 'and back')).toHaveCount(1);
    expect(await bodies(follower.page)).toEqual(['hello to both tabs', 'from the tab without the socket', 'after the handover', 'and back']);
    await context.close();
    await taylor.context.close();
  });
  test('a leading tab about to be frozen hands the connection over; frozen, the other tab carries the chat; running again, it follows and catches up', async ({ browser, baseURL }, testInfo) => {
    const room = freshRoom('tabs-freeze');
    const taylor = await openPerson(browser, baseURL!, therapistPath(room), 'therapist-page');
    await connected(taylor.page);
    const { context, leader, follower, open } = await twoTabs(browser, baseURL!, room);
    expect(open(leader) + open(follower)).toBe(1);

    // The page lifecycle's freeze: the leader hands over, then stops
    // running (paused through the debugger: this Chromium's lifecycle
    // emulation fires no freeze and leaves the page running).
    const frozen = Date.now();
    await leader.page.evaluate(() => document.dispatchEvent(new Event('freeze')));
    const cdp = await context.newCDPSession(leader.page);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    await expect.poll(() => follower.welcomed.length, { message: 'the other tab connects on its own socket' }).toBeGreaterThan(0);
    const took = follower.welcomed[0] - frozen;
    measured(testInfo, 'freeze → the other tab welcomed on its own socket', took);
    expect(took, 'connected within a second of the freeze').toBeLessThanOrEqual(1000);
    await connected(follower.page);

    await send(taylor.page, 'while one tab sleeps');
    await expect(messageWithBody(follower.page, 'while one tab sleeps')).toHaveCount(1);
    await send(follower.page, 'answered from the other tab');
    await expect(messageWithBody(taylor.page, 'answered from the other tab')).toHaveCount(1);

    // Running again, the old leader follows the new one and shows all.
    await cdp.send('Debugger.resume');
    await leader.page.evaluate(() => document.dispatchEvent(new Event('resume')));
    for (const b of ['while one tab sleeps', 'answered from the other tab']) {
      await expect(messageWithBody(leader.page, b)).toHaveCount(1);
    }
    await connected(leader.page);
    expect(open(leader), 'it did not take a socket back').toBe(0);
    expect(open(follower)).toBe(1);
    await context.close();
    await taylor.context.close();
  });
});
