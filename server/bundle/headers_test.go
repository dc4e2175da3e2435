//go:build !wasm

package bundle_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/bundle"
)

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	b := newBundle(t, webFS())
	tests := []struct {
		name   string
		method string
		path   string
		status int
	}{
		{name: "the home page", method: http.MethodGet, path: "/", status: http.StatusOK},
		{name: "a chat page", method: http.MethodGet, path: "/chat/any-room", status: http.StatusOK},
		{name: "the inbox", method: http.MethodGet, path: "/therapist", status: http.StatusOK},
		{name: "go-app's loader", method: http.MethodGet, path: "/app.js", status: http.StatusOK},
		{name: "the service worker", method: http.MethodGet, path: "/app-worker.js", status: http.StatusOK},
		{name: "go-app's stylesheet", method: http.MethodGet, path: "/app.css", status: http.StatusOK},
		{name: "the manifest", method: http.MethodGet, path: "/manifest.webmanifest", status: http.StatusOK},
		{name: "wasm_exec.js", method: http.MethodGet, path: "/wasm_exec.js", status: http.StatusOK},
		{name: "app.wasm", method: http.MethodGet, path: "/web/app.wasm", status: http.StatusOK},
		{name: "a web file", method: http.MethodGet, path: "/web/app.css", status: http.StatusOK},
		{name: "robots.txt", method: http.MethodGet, path: "/robots.txt", status: http.StatusOK},
		{name: "a HEAD of a page", method: http.MethodHead, path: "/therapist", status: http.StatusOK},
		{name: "a page not found", method: http.MethodGet, path: "/nope", status: http.StatusNotFound},
		{name: "a web file not found", method: http.MethodGet, path: "/web/nope.png", status: http.StatusNotFound},
		{name: "a page posted to", method: http.MethodPost, path: "/therapist", status: http.StatusMethodNotAllowed},
		{name: "a not modified answer", method: http.MethodGet, path: "/app.js", status: http.StatusNotModified},
	}
	want := map[string]string{
		"Content-Security-Policy":      bundle.ContentSecurityPolicy,
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var header []string
			if tt.status == http.StatusNotModified {
				header = append(header, `If-None-Match: "`+b.Version()+`"`)
			}
			w := serve(b, tt.method, tt.path, header...)
			require.Equal(t, tt.status, w.Code)
			for k, v := range want {
				assert.Equal(t, v, w.Header().Get(k), k)
			}
			assert.NotEmpty(t, w.Header().Get("Permissions-Policy"))
		})
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	directives := map[string]string{}
	for d := range strings.SplitSeq(bundle.ContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	tests := []struct {
		name      string
		directive string
		want      string
	}{
		{name: "everything comes from this server by default", directive: "default-src", want: "'self'"},
		{name: "scripts are files of this server, and wasm may compile", directive: "script-src", want: "'self' 'wasm-unsafe-eval'"},
		{name: "styles are files of this server", directive: "style-src", want: "'self'"},
		{name: "images are files of this server", directive: "img-src", want: "'self'"},
		{name: "fetch and the WebSocket go to this server only", directive: "connect-src", want: "'self'"},
		{name: "the service worker is this server's", directive: "worker-src", want: "'self'"},
		{name: "the manifest is this server's", directive: "manifest-src", want: "'self'"},
		{name: "no plugin runs", directive: "object-src", want: "'none'"},
		{name: "no <base> moves the relative URLs", directive: "base-uri", want: "'none'"},
		{name: "forms post here only", directive: "form-action", want: "'self'"},
		{name: "no site frames the pages", directive: "frame-ancestors", want: "'none'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, directives[tt.directive])
		})
	}
	t.Run("nothing may run from a string or inline", func(t *testing.T) {
		t.Parallel()
		// 'wasm-unsafe-eval' allows compiling wasm only; 'unsafe-eval' would
		// allow eval() and new Function() too.
		assert.NotContains(t, strings.ReplaceAll(bundle.ContentSecurityPolicy, "'wasm-unsafe-eval'", ""), "unsafe-eval")
		assert.NotContains(t, bundle.ContentSecurityPolicy, "unsafe-inline")
		assert.NotContains(t, bundle.ContentSecurityPolicy, "*")
	})
}
