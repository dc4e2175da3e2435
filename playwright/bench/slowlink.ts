import { Browser, BrowserContext, CDPSession, Page } from '@playwright/test';

// A slow phone link, emulated by Chromium's network throttling: 40 KB/s
// down, 20 KB/s up, 300 ms from a request to its answer's first byte.
export const slowConditions = {
  offline: false,
  latency: 300,
  downloadThroughput: 40 * 1024,
  uploadThroughput: 20 * 1024,
};

export interface SlowLink {
  /** Bytes that crossed the link (headers and bodies, as encoded) since the start. */
  bytes(): number;
  /** Every Cache-Control header the link carried. */
  cacheControls(): string[];
  close(): Promise<void>;
}

// slowLink throttles page and, since Network.emulateNetworkConditions on a
// page's session leaves its service worker's fetches alone (measured: the
// worker's requests crossed at full speed), every service worker of origin
// too: a browser session attaches to each worker target as it appears and
// throttles it. Each target has a throttle of its own, so a worker that
// downloaded beside the page would get a second 40 KB/s: bytes() counts
// both, and the figures carry it, so a second download shows.
export async function slowLink(browser: Browser, context: BrowserContext, page: Page, origin: string): Promise<SlowLink> {
  let bytes = 0;
  const cacheControls: string[] = [];
  const count = (method: string, params: any) => {
    if (method === 'Network.loadingFinished') bytes += params.encodedDataLength ?? 0;
    if (method === 'Network.responseReceived' && !params.response.fromServiceWorker) {
      const h = params.response.headers ?? {};
      const cc = h['Cache-Control'] ?? h['cache-control'];
      if (cc) cacheControls.push(`${params.response.url}: ${cc}`);
    }
  };

  const pageSession = await context.newCDPSession(page);
  pageSession.on('Network.loadingFinished', (p) => count('Network.loadingFinished', p));
  pageSession.on('Network.responseReceived', (p) => count('Network.responseReceived', p));
  await pageSession.send('Network.enable');
  await pageSession.send('Network.emulateNetworkConditions', slowConditions);

  // Service workers: Playwright's CDPSession cannot address a flattened
  // child session, so the worker's session is the older kind, spoken to
  // through Target.sendMessageToTarget.
  const browserSession: CDPSession = await browser.newBrowserCDPSession();
  let id = 1;
  const attached = new Set<string>();
  const pending: Promise<unknown>[] = [];
  const attach = async (info: { targetId: string; type: string; url: string }) => {
    if (info.type !== 'service_worker' || !info.url.startsWith(origin) || attached.has(info.targetId)) return;
    attached.add(info.targetId);
    try {
      const { sessionId } = await browserSession.send('Target.attachToTarget', { targetId: info.targetId, flatten: false } as any) as any;
      for (const [method, params] of [['Network.enable', {}], ['Network.emulateNetworkConditions', slowConditions]] as const) {
        await browserSession.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: id++, method, params }) } as any);
      }
    } catch {
      // The worker stopped before it could be attached: nothing to throttle.
    }
  };
  browserSession.on('Target.receivedMessageFromTarget', (e: any) => {
    const msg = JSON.parse(e.message);
    if (msg.method) count(msg.method, msg.params);
  });
  browserSession.on('Target.targetCreated', (e: any) => { pending.push(attach(e.targetInfo)); });
  browserSession.on('Target.targetInfoChanged', (e: any) => { pending.push(attach(e.targetInfo)); });
  await browserSession.send('Target.setDiscoverTargets', { discover: true });
  const { targetInfos } = await browserSession.send('Target.getTargets') as any;
  await Promise.all(targetInfos.map(attach));

  return {
    bytes: () => bytes,
    cacheControls: () => cacheControls.slice(),
    close: async () => {
      await Promise.allSettled(pending);
      await browserSession.detach().catch(() => {});
      await pageSession.detach().catch(() => {});
    },
  };
}
