//go:build !wasm

package bundle

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
)

// go-app's loader (app.js) shows the share of app.wasm read in whole
// percents. tether's wasm is about 9 MB raw and 1.7 MB brotli: on a slow
// phone link (40 KB/s) one percent is about 0.45 s, so the label sat on
// "0%" past the first two seconds and then moved in steps. In tenths it
// moves with the first kilobytes and a few times a second.
const (
	// goappProgress is the line of go-app's app.js (v10) that rounds the
	// share to a whole percent.
	goappProgress = "progess(Math.round((loaded * 100) / total));"
	// tenthsProgress is the line that replaces it.
	tenthsProgress = "progess(Math.floor((loaded * 1000) / total) / 10);"
)

// loader is go-app's app.js with the progress in tenths of a percent, made
// once from go-app's own on the first request (go-app builds it then).
type loader struct {
	once sync.Once
	body []byte
}

// serveLoader answers /app.js as go-app would (no-cache, the version's
// ETag), with the body changed. Should go-app's line change, its app.js is
// served as it is (whole percents); a test of the bundle fails then.
func (b *Bundle) serveLoader(w http.ResponseWriter, r *http.Request) {
	b.loader.once.Do(func() {
		held := &heldResponse{header: http.Header{}, status: http.StatusOK}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "/app.js", nil)
		b.app.ServeHTTP(held, req)
		b.loader.body = bytes.Replace(held.body.Bytes(), []byte(goappProgress), []byte(tenthsProgress), 1)
	})
	h := w.Header()
	etag := `"` + b.version + `"`
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/javascript")
	h.Set("Content-Length", strconv.Itoa(len(b.loader.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b.loader.body)
	}
}
