//go:build !wasm

package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startPublic runs a dev server reached at origins (-public-origin).
func startPublic(t *testing.T, origins string) *Main {
	t.Helper()
	return runMain(t, newMain(t, Config{Dev: true, PublicOrigin: origins}))
}

// do sends one request to the server with the given Host and headers.
func do(t *testing.T, m *Main, method, path, host string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req := newRequest(t, method, m.URL()+path, header...)
	if host != "" {
		req.Host = host
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode == http.StatusSwitchingProtocols {
		return res, nil // the body is the socket
	}
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

// webSocketHeaders open a protocol v1 WebSocket, from origin.
func webSocketHeaders(origin string) []string {
	return []string{
		"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: tether.v1",
		"Origin: " + origin,
	}
}

func TestPublicOrigin(t *testing.T) {
	t.Parallel()
	m := startPublic(t, "https://chat.example.com, http://chat.example.org:8080")
	tests := []struct {
		name     string
		method   string
		path     string
		host     string
		header   []string
		status   int
		body     string // checked when set
		contains string // the body holds it, when set
		hsts     bool   // Strict-Transport-Security is sent
	}{
		{name: "a page for the public host is served", path: "/therapist", host: "chat.example.com", status: http.StatusOK, hsts: true},
		{name: "the public host with its default port is served", path: "/therapist", host: "chat.example.com:443", status: http.StatusOK, hsts: true},
		{name: "a page's link preview names the first origin, not the Host asked for", path: "/chat/any-room", host: "Chat.Example.COM:443", status: http.StatusOK,
			contains: `"https://chat.example.com/chat/any-room"`, hsts: true},
		{name: "the host is matched without regard to case", path: "/therapist", host: "Chat.Example.COM", status: http.StatusOK, hsts: true},
		{name: "the second origin with its port is served", path: "/api/ping", host: "chat.example.org:8080", status: http.StatusNoContent},
		{name: "the second origin without its port is misdirected", path: "/api/ping", host: "chat.example.org", status: http.StatusMisdirectedRequest},
		{name: "a page for another host is misdirected", path: "/therapist", host: "evil.example", status: http.StatusMisdirectedRequest, body: "misdirected request\n"},
		{name: "the server's own address is misdirected", path: "/", status: http.StatusMisdirectedRequest},
		{name: "the API for another host is misdirected", path: "/api/ping", host: "evil.example", status: http.StatusMisdirectedRequest},
		{name: "robots.txt for another host is misdirected", path: "/robots.txt", host: "evil.example", status: http.StatusMisdirectedRequest},
		{name: "the health check answers on any host", path: "/healthz", status: http.StatusOK, body: "ok\n"},
		{name: "a WebSocket from the public origin opens", path: "/api/ws", host: "chat.example.com",
			header: webSocketHeaders("https://chat.example.com"), status: http.StatusSwitchingProtocols, hsts: true},
		{name: "a WebSocket from the public origin opens when the Host names the default port", path: "/api/ws", host: "chat.example.com:443",
			header: webSocketHeaders("https://chat.example.com"), status: http.StatusSwitchingProtocols, hsts: true},
		{name: "a WebSocket from another origin is refused", path: "/api/ws", host: "chat.example.com",
			header: webSocketHeaders("https://evil.example"), status: http.StatusForbidden, hsts: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			res, body := do(t, m, method, tt.path, tt.host, tt.header...)
			require.Equal(t, tt.status, res.StatusCode, "body %q", body)
			if tt.body != "" {
				assert.Equal(t, tt.body, string(body))
			}
			assert.Contains(t, string(body), tt.contains)
			if tt.hsts {
				assert.Equal(t, "max-age=31536000", res.Header.Get("Strict-Transport-Security"), "an https origin")
			} else {
				assert.Empty(t, res.Header.Get("Strict-Transport-Security"), "not an https origin")
			}
		})
	}
}

func TestPublicOriginMustBeAnOrigin(t *testing.T) {
	t.Parallel()
	requireWasm(t)
	for _, origin := range []string{"chat.example.com", "ftp://chat.example.com", "https://chat.example.com/app", "https://user@chat.example.com", "https://"} {
		t.Run(origin, func(t *testing.T) {
			t.Parallel()
			m := newMain(t, Config{Dev: true, PublicOrigin: origin})
			err := m.Run(t.Context())
			if err == nil {
				m.Close()
			}
			assert.ErrorContains(t, err, "-public-origin")
		})
	}
}

func TestSecurityHeadersOverTheServer(t *testing.T) {
	t.Parallel()
	m, _, _ := start(t, true)
	tests := []struct {
		name   string
		path   string
		status int
		csp    bool // the bundle's answers carry the page policy
	}{
		{name: "a page", path: "/chat/any-room", status: http.StatusOK, csp: true},
		{name: "app.wasm", path: "/web/app.wasm", status: http.StatusOK, csp: true},
		{name: "robots.txt", path: "/robots.txt", status: http.StatusOK, csp: true},
		{name: "a path not found", path: "/sitemap.xml", status: http.StatusNotFound, csp: true},
		{name: "the metrics, which the public address does not serve", path: "/metrics", status: http.StatusNotFound, csp: true},
		{name: "an API answer", path: "/api/ping", status: http.StatusNoContent},
		{name: "an API error", path: "/api/nope", status: http.StatusNotFound},
		{name: "an API answer refused", path: "/api/rooms", status: http.StatusUnauthorized},
		{name: "the health check", path: "/healthz", status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, _ := do(t, m, http.MethodGet, tt.path, "")
			require.Equal(t, tt.status, res.StatusCode)
			assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
			if tt.csp {
				assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self' 'wasm-unsafe-eval'")
				assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
				assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
			}
		})
	}
}
