//go:build !wasm

package bundle

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// minCompressSize is the smallest body worth compressing: below it the
// gzip header and a round of decoding cost more than the bytes saved.
const minCompressSize = 1024

// gzipETagSuffix marks the ETag of a gzip answer: a validator names one
// representation, and the gzip bytes are not the identity bytes.
const gzipETagSuffix = "-gz"

// compressibleTypes are the text answers of the bundle. On a slow phone link
// the page, wasm_exec.js, app.js and the stylesheets all cross it before
// app.js can start the wasm and show its progress; gzip takes them from
// about 45 KB to about 12 KB, a second at 40 KB/s.
var compressibleTypes = []string{
	"text/html", "text/css", "text/javascript", "application/javascript",
	"application/manifest+json", "application/json", "image/svg+xml", "text/plain",
}

func compressible(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(strings.ToLower(mediaType))
	for _, t := range compressibleTypes {
		if mediaType == t {
			return true
		}
	}
	return false
}

// serveCompressed runs next with its answer held in memory, then sends it
// gzip-compressed when it is text and large enough. The bundle's text
// answers are small (the largest is wasm_exec.js, 17 KB), so holding one
// is cheap; app.wasm, which has precompressed copies, never comes here.
//
// The ETag of a gzip answer is the handler's with gzipETagSuffix inside the
// quotes, and a request's If-None-Match loses the suffix before next sees
// it, so next's own revalidation (go-app compares the whole header with its
// ETag) still answers 304.
func serveCompressed(next http.Handler, memo *gzipMemo, w http.ResponseWriter, r *http.Request, isPage bool) {
	inm := r.Header.Get("If-None-Match")
	if strings.HasSuffix(inm, gzipETagSuffix+`"`) {
		r = r.Clone(r.Context())
		r.Header.Set("If-None-Match", strings.TrimSuffix(inm, gzipETagSuffix+`"`)+`"`)
	}
	rec := &heldResponse{header: w.Header(), status: http.StatusOK}
	next.ServeHTTP(rec, r)
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	etag := h.Get("ETag")
	gzipETag := etag
	if strings.HasSuffix(etag, `"`) && !strings.HasPrefix(etag, "W/") {
		gzipETag = strings.TrimSuffix(etag, `"`) + gzipETagSuffix + `"`
	}
	switch {
	case rec.status == http.StatusNotModified:
		// The client holds the gzip answer when it named the gzip ETag.
		if inm != "" && inm == gzipETag {
			h.Set("ETag", gzipETag)
		}
		w.WriteHeader(rec.status)
		return
	case rec.status != http.StatusOK || h.Get("Content-Encoding") != "" ||
		rec.body.Len() < minCompressSize || !compressible(h.Get("Content-Type")):
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
		return
	}
	body := memo.of(r.URL.Path, etag, rec.body.Bytes(), !isPage)
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if etag != "" {
		h.Set("ETag", gzipETag)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// gzipWriters keeps compressors for reuse: one at BestCompression holds
// about 800 KB of tables, which each answer allocated anew.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestCompression)
	return zw
}}

// compress returns body gzip-compressed.
func compress(body []byte) []byte {
	var out bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&out)
	zw.Write(body)
	zw.Close()
	zw.Reset(io.Discard) // not to keep out alive in the pool
	gzipWriters.Put(zw)
	return out.Bytes()
}

// maxGzipMemo bounds gzipMemo: the assets that reach it are go-app's
// generated scripts and the embedded files, a few dozen in a release.
const maxGzipMemo = 128

// gzipMemo keeps the gzip bytes of the answers that are the same for every
// request (the scripts, the stylesheet, the manifest, the embedded files):
// compressing one at BestCompression costs the server about 40 times what
// sending it does, and anyone may ask for them as fast as they like. An
// entry is found by path and ETag and used only for the very bytes it was
// made from; pages, which differ by their path's room, are never kept.
type gzipMemo struct {
	mu      sync.Mutex
	entries map[string]gzipEntry
}

type gzipEntry struct {
	identity [sha256.Size]byte
	gzip     []byte
}

// newGzipMemo returns an empty memo; each Bundle keeps its own.
func newGzipMemo() *gzipMemo { return &gzipMemo{entries: map[string]gzipEntry{}} }

// of returns body compressed, from the memo when it holds the same bytes
// for path and etag; keep says the answer may be kept (not a page, and
// validated by an ETag).
func (m *gzipMemo) of(path, etag string, body []byte, keep bool) []byte {
	if !keep || etag == "" {
		return compress(body)
	}
	key := path + "\x00" + etag
	sum := sha256.Sum256(body)
	m.mu.Lock()
	e, ok := m.entries[key]
	m.mu.Unlock()
	if ok && e.identity == sum {
		return e.gzip
	}
	out := compress(body)
	m.mu.Lock()
	if _, ok := m.entries[key]; ok || len(m.entries) < maxGzipMemo {
		m.entries[key] = gzipEntry{identity: sum, gzip: out}
	}
	m.mu.Unlock()
	return out
}

// heldResponse is an http.ResponseWriter that keeps the body and status in
// memory; headers go straight to the real writer's map.
type heldResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(status int) {
	if !h.wroteHeader {
		h.status, h.wroteHeader = status, true
	}
}

func (h *heldResponse) Write(p []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(p)
}
