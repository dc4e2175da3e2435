//go:build !wasm

package bundle

import (
	"net/http"
	"strconv"
	"strings"
)

// goappAssets are the files go-app makes itself that the pages and the
// worker load: the loader, the worker, go-app's base stylesheet and the
// manifest the pages link. go-app also answers /goapp.js, /manifest.json,
// /app.wasm and /goapp.wasm, which tether never names, so they stay out.
var goappAssets = map[string]bool{
	"/app.js":               true,
	"/app-worker.js":        true,
	"/app.css":              true,
	"/manifest.webmanifest": true,
}

// serveApp hands go-app the paths of the allow-list only: the pages, its
// assets and /web/. go-app's Handler answers other paths in ways a server on
// the open internet must not: /robots.txt, /sitemap.xml and /ads.txt (also
// under a "/<Version>/" prefix, which it strips) by fetching
// "http://"+r.Host+"/web/…" and caching the answer for the life of the
// process, so a forged Host header makes the server fetch an attacker's page
// and serve it to everyone after.
func (b *Bundle) serveApp(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !goappAssets[p] && !b.isPage(p) && !isWebPath(p) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b.app.ServeHTTP(w, r)
}

// isWebPath reports whether p names a file under /web/, which go-app passes
// to webResources.
func isWebPath(p string) bool {
	return strings.HasPrefix(p, "/web/")
}

// serveRobots answers /robots.txt from the bundle, in place of go-app's
// proxy of it; a bundle without one has none.
func (b *Bundle) serveRobots(w http.ResponseWriter, r *http.Request) {
	body := b.robotsTxt
	if body == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// WithoutURLHost returns r with a URL that names no scheme, host or user.
// A request line in absolute form ("GET http://evil.example/x HTTP/1.1",
// which proxies send and anyone can) fills r.URL.Host; go-app builds the
// page's URL, and ServeMux its redirects, from r.URL, so they would name
// the attacker's host. r itself is not changed.
func WithoutURLHost(r *http.Request) *http.Request {
	u := r.URL
	if u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" {
		return r
	}
	clean := *u
	clean.Scheme, clean.Host, clean.User, clean.Opaque = "", "", nil, ""
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = &clean
	return r2
}
