import { Browser, BrowserContext, Page, TestInfo, WebSocket } from '@playwright/test';
import { Allowance, expect, waitForApp } from './fixtures';

/**
 * What the faults of the tests make Chromium report, by name: a test passes
 * the ones it causes to watch.allow, and fails on any other.
 */
export const faultProblems = {
  serverDown: {
    name: 'the server is down (crashed, or stopped before its restart)',
    // ERR_SOCKET_NOT_CONNECTED: a request on a kept-alive connection of the
    // server that was just killed.
    pattern: /net::ERR_CONNECTION_(REFUSED|RESET|CLOSED)\b|net::ERR_EMPTY_RESPONSE\b|net::ERR_SOCKET_NOT_CONNECTED\b/,
  },
  answers503: {
    name: 'the server answers 503 to a WebSocket it refuses (fault) or while it drains',
    pattern: /WebSocket connection to '[^']*' failed: Error during WebSocket handshake: Unexpected response code: 503/,
  },
  offline: {
    name: 'the browser is offline',
    pattern: /net::ERR_INTERNET_DISCONNECTED\b/,
  },
  pollCancelled: {
    name: 'the client cancels its own reads of a room (a long-poll, a catch-up) when it changes transport',
    pattern: /request failed: GET \/api\/rooms\/[^/\s]+\/messages\?\S*: net::ERR_ABORTED$/,
  },
} satisfies Record<string, Allowance>;

let counter = 0;

/** A fresh booking room name, so tests never share a room. */
export function freshRoom(prefix = 'room'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

/** One person in their own browser context (own storage, own network). */
export interface Person {
  context: BrowserContext;
  page: Page;
  sockets: Socket[];
  /** What the page wrote to its console, in order. */
  console: string[];
}

/** A WebSocket the page opened and the frames it sent on it. */
export interface Socket {
  ws: WebSocket;
  sent: any[];
  /** When the page opened it (Date.now() in the test). */
  openedAt: number;
}

/**
 * Opens a page in a new context and records its WebSockets. The watch
 * fixture watches the context for errors and closes it after the test.
 */
export async function openPerson(browser: Browser, baseURL: string, path: string, testId: string, viewport?: { width: number; height: number }): Promise<Person> {
  const context = await browser.newContext({ baseURL, serviceWorkers: 'block', viewport });
  const page = await context.newPage();
  const sockets: Socket[] = [];
  const console: string[] = [];
  page.on('console', (m) => console.push(m.text()));
  page.on('websocket', (ws) => {
    const sock: Socket = { ws, sent: [], openedAt: Date.now() };
    ws.on('framesent', (f) => {
      try { sock.sent.push(JSON.parse(String(f.payload))); } catch { sock.sent.push(f.payload); }
    });
    sockets.push(sock);
  });
  await page.goto(path);
  await waitForApp(page, testId);
  return { context, page, sockets, console };
}

/** The customer of room, with a dev token. */
export function customerPath(room: string, name = 'Casey'): string {
  return `/chat/${room}?as=customer&name=${encodeURIComponent(name)}`;
}

/** The therapist's inbox with room open, with a dev token. */
export function therapistPath(room: string, name = 'Taylor'): string {
  return `/therapist?as=therapist&name=${encodeURIComponent(name)}&room=${room}`;
}

/** The inbox's row of room (its text is the booking's, once known). */
export function inboxRoom(page: Page, room: string) {
  return page.locator(`[data-testid=inbox-room][data-room="${room}"]`);
}

export function indicator(page: Page) {
  return page.getByTestId('chat-header').getByTestId('connection-indicator');
}

/** Waits until the page is connected over WebSocket. */
export async function connected(page: Page, timeout = 20_000) {
  await expect(indicator(page)).toHaveAttribute('data-transport', 'websocket', { timeout });
  await expect(indicator(page)).not.toHaveAttribute('data-quality', 'disconnected');
}

/** Types body in the composer and presses Enter. */
export async function send(page: Page, body: string) {
  const input = page.getByTestId('composer-input');
  await input.fill(body);
  await input.press('Enter');
}

/** The message list's messages with body text. */
export function messageWithBody(page: Page, body: string) {
  return page.getByTestId('message-list').getByTestId('message').filter({
    has: page.getByTestId('message-body').getByText(body, { exact: true }),
  });
}

/** The bodies of the messages on the page, in order. */
export async function bodies(page: Page): Promise<string[]> {
  return page.getByTestId('message-list').getByTestId('message-body').allTextContents();
}

export async function shot(testInfo: TestInfo, name: string, page: Page, target?: 'header' | 'banner') {
  const body = target === 'header'
    ? await page.getByTestId('chat-header').screenshot()
    : target === 'banner'
      ? await page.getByTestId('connection-banner').screenshot()
      : await page.screenshot({ fullPage: true });
  await testInfo.attach(name, { body, contentType: 'image/png' });
}


/** Posts bodies to room over the HTTP API as user, pacing under the rate limit. */
export async function postMessages(baseURL: string, room: string, user: string, bodies: string[]) {
  const q = new URLSearchParams({ room, user, name: user, role: 'customer' });
  const { token } = await (await fetch(`${baseURL}/api/dev/token?${q}`)).json();
  for (const [i, body] of bodies.entries()) {
    for (;;) {
      const res = await fetch(`${baseURL}/api/rooms/${room}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_id: `${user}-${i}`, body }),
      });
      if (res.status === 429) {
        await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('Retry-After') ?? 1)));
        continue;
      }
      if (res.status !== 201) throw new Error(`post ${body}: ${res.status} ${await res.text()}`);
      break;
    }
  }
}

/** The banner's data-state, or 'hidden' when there is no banner. */
export async function bannerState(page: Page): Promise<string> {
  // One look in the page: a count and then a getAttribute could see the
  // banner go between the two, and the getAttribute would wait for one to
  // come back until the caller's timeout.
  return page.evaluate(() =>
    document.querySelector('[data-testid=connection-banner]')?.getAttribute('data-state') ?? 'hidden');
}

/** Starts keeping each banner the page shows, as "state: title" ("hidden"
 * when there is none), so that a test can check one that came and went
 * between two of its own looks: on a busy machine a look can take seconds. */
export async function recordBanners(page: Page) {
  await page.evaluate(() => {
    const w = window as any;
    const read = () => {
      const b = document.querySelector('[data-testid=connection-banner]');
      if (!b) return 'hidden';
      return `${b.getAttribute('data-state')}: ${b.querySelector('.conn-banner-title')?.textContent ?? ''}`;
    };
    // The same with when and the detail line, to tell a failure's story.
    const detail = () => document.querySelector('[data-testid=connection-banner] .conn-banner-detail')?.textContent ?? '';
    const t0 = performance.now();
    const logged = () => `${Math.round(performance.now() - t0)}ms ${read()} | ${detail()}`;
    w.__banners = [read()];
    w.__bannerLog = [logged()];
    new MutationObserver(() => {
      const v = read();
      if (v !== w.__banners[w.__banners.length - 1]) w.__banners.push(v);
      const l = logged();
      if (l.replace(/^\d+ms /, '') !== w.__bannerLog[w.__bannerLog.length - 1].replace(/^\d+ms /, '')) w.__bannerLog.push(l);
    }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

/** The banners the page showed since recordBanners, in order. */
export async function banners(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__banners);
}

/** The banners since recordBanners with their time and detail line, for a failure's message. */
export async function bannerLog(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__bannerLog);
}

/** window.tether.status() of the page. */
export async function status(page: Page): Promise<any> {
  return page.evaluate(() => (window as any).tether?.status());
}

/** Records every change of the indicator's data-quality in window.__qualities. */
export async function recordQualities(page: Page) {
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid=chat-header] [data-testid=connection-indicator]')!;
    const w = window as any;
    w.__qualities = [el.getAttribute('data-quality')];
    new MutationObserver(() => {
      const q = el.getAttribute('data-quality');
      if (q !== w.__qualities[w.__qualities.length - 1]) w.__qualities.push(q);
    }).observe(el, { attributes: true, attributeFilter: ['data-quality'] });
  });
}

export async function qualities(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__qualities);
}

/** Makes the page hidden or visible the way a browser does: visibilityState
 * and the visibilitychange event (headless Chromium keeps every tab visible). */
export async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

/** Logs a measured time and keeps it in the report. */
export function measured(testInfo: TestInfo, what: string, ms: number) {
  const line = `measured: ${what}: ${ms} ms`;
  console.log(line);
  testInfo.annotations.push({ type: 'measured', description: `${what}: ${ms} ms` });
}
