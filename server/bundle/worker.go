//go:build !wasm

package bundle

// serviceWorker replaces go-app's app-worker.js, which answers every GET
// from its cache first: after a deploy the first load would run the old
// release. This one is network first: while the server answers, pages and
// assets come from it, so a new release takes over on the next load; the
// cache answers only when the network fails, so an installed app opens
// offline. The API is never touched: the connection code must see the real
// network, and page.route in tests must see its requests.
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

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") {
      const copy = response.clone();
      caches.open(cacheName).then((cache) => cache.put(request, copy)).catch(() => {});
    }
    return response;
  } catch (err) {
    const cached = await caches.match(request, { ignoreSearch: true });
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
