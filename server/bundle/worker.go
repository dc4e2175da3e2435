//go:build !wasm

package bundle

// serviceWorker replaces go-app's app-worker.js, which answers every GET
// from its cache first: after a deploy the first load would run the old
// release. This one is network first: while the server answers, pages and
// assets come from it, so a new release takes over on the next load; the
// cache answers only when the network fails (or the server answers 5xx),
// so an installed app opens offline and while the server is too busy for
// pages. The API is never touched: the connection code must see the real
// network, and page.route in tests must see its requests.
//
// Answers are cached under their path alone (cacheKey): a booking link
// carries its token or invite in the fragment (/chat/{room}#token=T) and a
// dev link its identity in the query (?as=…&name=…), and Cache Storage keeps
// a request's whole URL, fragment included, long after the session ends and
// any logout. Every page is the same shell, routed by the URL, so the path is
// all an offline visit needs. Answers marked no-store are never kept.
//
// A link that is up but slow (a train, a crowded cell) would hold the app
// on a blank page for as long as the network takes: when the cache holds a
// copy, the network gets networkWait (3 s) and then the copy answers, while
// the network's answer still refreshes the cache for the next visit; for
// 30 s after that, cached copies answer at once. With no copy the network
// is waited for, however long it takes.
//
// When the cache holds a copy with an ETag, the network request names it
// (If-None-Match) and a 304 is answered with the copy: the worker's cache,
// not the browser's HTTP cache, decides whether app.wasm (1.7 MB, 43 s on
// a 40 KB/s phone link) crosses the link again. The HTTP cache is evicted
// under pressure on phones, and every answer is no-cache, so it alone
// would send the whole wasm again on a return visit after an eviction.
// Only fetches in cors or same-origin mode carry the header (the loader's
// fetch and preload of app.wasm); a no-cors script or stylesheet load
// drops it and revalidates through the HTTP cache, as before.
const serviceWorker = `// tether app worker {{.Version}}
const cacheName = "tether-{{.Version}}";
const resourcesToCache = {{.ResourcesToCache}};
const networkWait = 3000;
// slowUntil: a request waited out networkWait lately, so the link is slow;
// until then what the cache holds answers at once (the network still
// refreshes it), and the app's files do not each wait 3 s in turn.
let slowUntil = 0;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(cacheName);
    await cache.addAll(resourcesToCache);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keys = await caches.keys();
    await Promise.all(keys.filter((k) => k !== cacheName).map((k) => caches.delete(k)));
    await self.clients.claim();
  })());
});

// A click on a notification (the page shows them through the worker)
// brings a window of the app to the front on the chat it names, or opens
// one. Only the app's own paths are opened.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  let url = (event.notification.data && event.notification.data.url) || "/therapist";
  if (typeof url !== "string" || !url.startsWith("/") || url.startsWith("//")) {
    url = "/therapist";
  }
  const target = new URL(url, self.location.origin);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const same = windows.find((c) => new URL(c.url).pathname === target.pathname);
    if (same) {
      await same.focus();
      if (same.url !== target.href && "navigate" in same) {
        await same.navigate(target.href).catch(() => {});
      }
      return;
    }
    await self.clients.openWindow(target.href);
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return;
  }
  event.respondWith(networkFirst(event, request));
});

// cacheKey is the URL an answer is kept under: origin and path, never the
// query or the fragment, where links carry tokens, invites and dev names.
function cacheKey(request) {
  const url = new URL(request.url);
  return url.origin + url.pathname;
}

function storable(response) {
  return response.ok && response.type === "basic" &&
    !/no-store/i.test(response.headers.get("Cache-Control") || "");
}

async function networkFirst(event, request) {
  const key = cacheKey(request);
  const cached = await copyOf(request, key);
  const network = fetch(conditional(request, cached)).then(async (response) => {
    if ((response.status === 304 || response.status >= 500) && cached) {
      // A 304 means the copy; a server too busy for pages (503) or a
      // failing proxy in front of it (502, 504) answers as a network
      // that fails: the copy opens the app, whose connection then tells
      // the truth. Read to its end: a response left unread is cancelled,
      // and the browser reports the request as aborted.
      await response.arrayBuffer().catch(() => {});
      return cached.clone();
    }
    if (storable(response)) {
      const copy = response.clone();
      event.waitUntil(caches.open(cacheName).then((cache) => cache.put(key, copy)).catch(() => {}));
    }
    return response;
  });
  // The worker lives until the network has answered, even when the copy
  // answered first, so that the cache takes the answer.
  event.waitUntil(network.catch(() => {}));
  if (!cached) {
    return network;
  }
  if (Date.now() < slowUntil) {
    return cached;
  }
  let timer;
  const slow = new Promise((resolve) => {
    timer = setTimeout(() => {
      slowUntil = Date.now() + 30000;
      resolve(cached);
    }, networkWait);
  });
  try {
    return await Promise.race([network, slow]);
  } catch (err) {
    return cached;
  } finally {
    clearTimeout(timer);
  }
}

// conditional is request asking the server for cached only if it changed:
// with cached's ETag in If-None-Match. Navigations cannot be copied into a
// new Request, and the browser drops the header from no-cors requests.
function conditional(request, cached) {
  const etag = cached && cached.headers.get("ETag");
  if (!etag || request.mode === "navigate" || request.mode === "no-cors") {
    return request;
  }
  const headers = new Headers(request.headers);
  headers.set("If-None-Match", etag);
  return new Request(request, { headers });
}

// copyOf is the cached answer for request, if any: every page is the same
// shell (go-app routes by the URL), so a page never visited has "/"'s.
async function copyOf(request, key) {
  const cached = await caches.match(key);
  if (cached || request.mode !== "navigate") {
    return cached;
  }
  return caches.match("/");
}
`
