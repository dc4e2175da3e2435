//go:build !wasm

package bundle

import (
	"io/fs"
	"net/http"
	"strconv"
	"strings"
)

// webResources resolves and serves go-app's "/web/" paths from the
// embedded files, in place of go-app's LocalDir, which reads ./web relative
// to the working directory.
type webResources struct{ b *Bundle }

// Resolve keeps paths as they are: the files are served by this server at
// the paths the pages name.
func (webResources) Resolve(location string) string {
	if location == "" {
		return "/"
	}
	return location
}

// ServeHTTP serves one file under /web/. go-app has already set
// Cache-Control and an ETag of the version, and answered a matching
// If-None-Match.
func (res webResources) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/web/")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case name == wasmName:
		res.b.serveWasm(w, r)
	case name == brotliName || name == gzipName || !res.b.files[name]:
		// The compressed copies are reached through Accept-Encoding only.
		http.NotFound(w, r)
	default:
		http.ServeFileFS(w, r, res.b.web, name)
	}
}

// wasmVariant is one encoding of app.wasm, held in memory.
type wasmVariant struct {
	encoding string // "br", "gzip" or "" for identity
	body     []byte
}

// loadWasm reads the encodings of app.wasm that exist, best first.
func loadWasm(web fs.FS, files map[string]bool) ([]wasmVariant, error) {
	var out []wasmVariant
	for _, v := range []struct{ name, encoding string }{
		{brotliName, "br"}, {gzipName, "gzip"}, {wasmName, ""},
	} {
		if !files[v.name] {
			continue
		}
		body, err := fs.ReadFile(web, v.name)
		if err != nil {
			return nil, err
		}
		out = append(out, wasmVariant{encoding: v.encoding, body: body})
	}
	return out, nil
}

// serveWasm answers with the best encoding the client accepts. Each encoding
// has its own ETag, since the response varies by Accept-Encoding.
func (b *Bundle) serveWasm(w http.ResponseWriter, r *http.Request) {
	accept := r.Header.Get("Accept-Encoding")
	var v wasmVariant
	for _, v = range b.wasm {
		if v.encoding == "" || acceptsEncoding(accept, v.encoding) {
			break
		}
	}
	etag := `"` + b.version + `"`
	if v.encoding != "" {
		etag = `"` + b.version + "-" + v.encoding + `"`
	}
	h := w.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if v.encoding != "" {
		h.Set("Content-Encoding", v.encoding)
	}
	h.Set("Content-Length", strconv.Itoa(len(v.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(v.body)
	}
}

// acceptsEncoding reports whether an Accept-Encoding header allows enc: named
// with a q above zero, or covered by "*" when not named at all.
func acceptsEncoding(header, enc string) bool {
	named, wildcard := false, false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != enc && name != "*" {
			continue
		}
		ok := qualityAboveZero(params)
		if name == enc {
			named = true
			if ok {
				return true
			}
		} else {
			wildcard = wildcard || ok
		}
	}
	return !named && wildcard
}

// qualityAboveZero reads the q parameter of an Accept-Encoding entry: absent
// means 1, and q=0 means "not acceptable".
func qualityAboveZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || strings.TrimSpace(strings.ToLower(k)) != "q" {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && q > 0
	}
	return true
}
