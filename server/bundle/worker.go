//go:build !wasm

package bundle

// serviceWorker replaces go-app's app-worker.js, which answers every GET
// from its cache first: after a deploy the first load would run the old
// release. This one is network first: while the server answers, pages and
// assets come from it, so a new release takes over on the next load; the
// cache answers only when the network fails, so an installed app opens
// offline. The API is never touched: the connection code must see the real
// network, and page.route in tests must see its requests.
//
// Answers are cached under their path alone (cacheKey): a booking link
// carries its token or invite in the fragment (/chat/{room}#token=T) and a
// dev link its identity in the query (?as=…&name=…), and Cache Storage keeps
// a request's whole URL, fragment included, long after the session ends and
// any logout. Every page is the same shell, routed by the URL, so the path is
// all an offline visit needs. Answers marked no-store are never kept.
const serviceWorker = `// tether app worker {{.Version}}
const cacheName = "tether-{{.Version}}";
const resourcesToCache = {{.ResourcesToCache}};

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

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return;
  }
  event.respondWith(networkFirst(request));
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

async function networkFirst(request) {
  const key = cacheKey(request);
  try {
    const response = await fetch(request);
    if (storable(response)) {
      const copy = response.clone();
      caches.open(cacheName).then((cache) => cache.put(key, copy)).catch(() => {});
    }
    return response;
  } catch (err) {
    const cached = await caches.match(key);
    if (cached) {
      return cached;
    }
    if (request.mode === "navigate") {
      // Every page is the same shell; go-app routes by the URL.
      const shell = await caches.match("/");
      if (shell) {
        return shell;
      }
    }
    throw err;
  }
}
`
