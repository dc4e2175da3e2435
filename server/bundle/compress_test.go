//go:build !wasm

package bundle_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/bundle"
)

func gunzip(t *testing.T, body []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(string(body)))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(out)
}

// On a slow phone link the page and everything app.js waits for cross the
// link before the wasm can show its progress: the text answers go out
// compressed, and revalidate as cheaply as before.
func TestTextAnswersAreGzipped(t *testing.T) {
	t.Parallel()
	b := newBundle(t, webFS())
	tests := []struct {
		name, path, contains string
	}{
		{name: "a page", path: "/chat/any-room", contains: `data-testid="chat-page"`},
		{name: "go-app's loader", path: "/app.js", contains: "goappInitWebAssembly"},
		{name: "the service worker", path: "/app-worker.js", contains: "networkFirst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			identity := serve(b, http.MethodGet, tt.path)
			require.Equal(t, http.StatusOK, identity.Code)
			w := serve(b, http.MethodGet, tt.path, "Accept-Encoding: gzip, deflate, br")
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
			assert.Contains(t, w.Header().Values("Vary"), "Accept-Encoding")
			// Not compared byte for byte: go-app writes a page's attributes
			// in map order.
			decoded := gunzip(t, w.Body.Bytes())
			assert.Contains(t, decoded, tt.contains)
			assert.Len(t, decoded, identity.Body.Len())
			assert.Less(t, w.Body.Len(), identity.Body.Len())

			etag := w.Header().Get("ETag")
			assert.NotEqual(t, identity.Header().Get("ETag"), etag, "the gzip bytes are another representation")
			again := serve(b, http.MethodGet, tt.path, "Accept-Encoding: gzip", "If-None-Match: "+etag)
			require.Equal(t, http.StatusNotModified, again.Code, "a client holding the gzip answer revalidates it")
			assert.Empty(t, again.Body.Bytes())
			assert.Equal(t, etag, again.Header().Get("ETag"))
		})
	}
	// Answers the gzip layer leaves alone: each is sent as the handler wrote
	// it, or as its precompressed file.
	others := []struct {
		name, method, path, accept string
		encoding                   string // the Content-Encoding wanted; "" for none
		contains                   string // checked when set
		body                       []byte // checked when set
	}{
		{name: "a client that accepts no gzip gets the identity bytes", method: http.MethodGet, path: "/app.js",
			accept: "gzip;q=0, br", contains: "goappInitWebAssembly"},
		{name: "app.wasm keeps its precompressed copies", method: http.MethodGet, path: "/web/app.wasm",
			accept: "gzip", encoding: "gzip", body: wasmGzip},
		{name: "small answers are sent as they are", method: http.MethodGet, path: "/web/app.css",
			accept: "gzip", body: appCSS},
		{name: "HEAD is answered as before", method: http.MethodHead, path: "/app.js",
			accept: "gzip"},
	}
	for _, tt := range others {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := serve(b, tt.method, tt.path, "Accept-Encoding: "+tt.accept)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, tt.encoding, w.Header().Get("Content-Encoding"))
			if tt.contains != "" {
				assert.Contains(t, w.Body.String(), tt.contains)
			}
			if tt.body != nil {
				assert.Equal(t, tt.body, w.Body.Bytes())
			}
		})
	}
}

// The page asks for app.wasm from its head, as app.js will: the same URL,
// and a CORS request with the same credentials, so the loader's fetch takes
// the preloaded answer instead of starting a second download.
func TestPagesPreloadTheWasm(t *testing.T) {
	t.Parallel()
	b := newBundle(t, webFS())
	page := serve(b, http.MethodGet, "/chat/any-room").Body.String()
	assert.Contains(t, page, `<link rel="preload" href="/web/app.wasm" as="fetch" crossorigin="anonymous">`)
	appJS := serve(b, http.MethodGet, "/app.js").Body.String()
	assert.Contains(t, appJS, `fetchWithProgress("/web/app.wasm"`)
	assert.Contains(t, appJS, "await fetch(url)", "a plain fetch: mode cors, credentials same-origin")
}

// The loader's progress moves in tenths of a percent: on a slow link a
// whole percent of tether's wasm takes about half a second.
func TestLoaderShowsTenthsOfAPercent(t *testing.T) {
	t.Parallel()
	b := newBundle(t, webFS())
	w := serve(b, http.MethodGet, "/app.js")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "progess(Math.floor((loaded * 1000) / total) / 10);",
		"go-app's app.js changed: see server/bundle/loader.go")
	assert.NotContains(t, w.Body.String(), "Math.round((loaded * 100) / total)")
	assert.Contains(t, w.Header().Get("Content-Type"), "javascript")
	assert.Equal(t, "no-cache", w.Header().Get("Cache-Control"))
	again := serve(b, http.MethodGet, "/app.js", "If-None-Match: "+w.Header().Get("ETag"))
	assert.Equal(t, http.StatusNotModified, again.Code)
}

// BenchmarkTextAnswers is what one request for a text answer costs the
// server, sent as it is and gzip-compressed: a stranger may ask for them as
// fast as the network lets it.
func BenchmarkTextAnswers(b *testing.B) {
	bun := newBundle(b, webFS())
	for _, path := range []string{"/wasm_exec.js", "/app.js", "/chat/any-room"} {
		for _, accept := range []string{"identity", "gzip"} {
			b.Run(strings.TrimPrefix(path, "/")+"/"+accept, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					w := serve(bun, http.MethodGet, path, "Accept-Encoding: "+accept)
					if w.Code != http.StatusOK {
						b.Fatalf("GET %s: %d", path, w.Code)
					}
				}
			})
		}
	}
}

// The memo of gzip answers serves the bytes it was made from and no
// others, keeps no page, and stays bounded whatever paths are asked for.
func TestGzipMemo(t *testing.T) {
	t.Parallel()
	t.Run("the same bytes come from the memo", func(t *testing.T) {
		m := bundle.NewGzipMemo()
		body := strings.Repeat("console.log('tether');\n", 100)
		first := m.Of("/app.js", `"v1"`, []byte(body), true)
		again := m.Of("/app.js", `"v1"`, []byte(body), true)
		assert.Equal(t, body, gunzip(t, again))
		assert.Same(t, &first[0], &again[0], "compressed once")
	})
	t.Run("other bytes under the same path and ETag are compressed anew", func(t *testing.T) {
		m := bundle.NewGzipMemo()
		m.Of("/app.js", `"v1"`, []byte("first version of the script, long enough"), true)
		other := "a second version of the script, as long"
		assert.Equal(t, other, gunzip(t, m.Of("/app.js", `"v1"`, []byte(other), true)))
	})
	t.Run("pages and answers without an ETag are not kept", func(t *testing.T) {
		m := bundle.NewGzipMemo()
		page := "<html>a room's page</html>"
		assert.Equal(t, page, gunzip(t, m.Of("/chat/r1", `"v1"`, []byte(page), false)))
		assert.Equal(t, page, gunzip(t, m.Of("/app.js", "", []byte(page), true)))
		assert.Zero(t, m.Len())
	})
	t.Run("the memo holds at most MaxGzipMemo answers", func(t *testing.T) {
		m := bundle.NewGzipMemo()
		for i := range bundle.MaxGzipMemo + 50 {
			body := fmt.Sprintf("asset number %d", i)
			assert.Equal(t, body, gunzip(t, m.Of(fmt.Sprintf("/web/a%d", i), `"v1"`, []byte(body), true)))
		}
		assert.Equal(t, bundle.MaxGzipMemo, m.Len())
	})
}
