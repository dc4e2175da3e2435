//go:build !wasm

package bundle_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/bundle"
)

// attacker is a web server an attacker runs: it counts the connections it
// accepts and answers every path with its own page.
type attacker struct {
	net.Listener
	accepted atomic.Int64
}

const attackerPage = "<html>attacker's content</html>"

func newAttacker(t *testing.T) *attacker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a := &attacker{Listener: ln}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, attackerPage)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(a)
	t.Cleanup(func() { srv.Close() })
	return a
}

// Accept counts every connection made to the attacker.
func (a *attacker) Accept() (net.Conn, error) {
	c, err := a.Listener.Accept()
	if err == nil {
		a.accepted.Add(1)
	}
	return c, err
}

// go-app's Handler answers /robots.txt, /sitemap.xml and /ads.txt (also
// under "/<Version>/") by fetching "http://"+r.Host+"/web/…" and caching the
// answer for good. With a Host naming the attacker, the server must neither
// connect there nor keep anything for the requests that come after.
func TestForgedHostFetchesAndCachesNothing(t *testing.T) {
	t.Parallel()
	evil := newAttacker(t)
	b := newBundle(t, webFS())
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	v := "/" + b.Version()

	tests := []struct {
		name   string
		path   string
		status int
		body   []byte // checked on 200 only
	}{
		{name: "robots.txt is the bundle's", path: "/robots.txt", status: http.StatusOK, body: robotsTxt},
		{name: "sitemap.xml is not found", path: "/sitemap.xml", status: http.StatusNotFound},
		{name: "ads.txt is not found", path: "/ads.txt", status: http.StatusNotFound},
		{name: "robots.txt under the version is not found", path: v + "/robots.txt", status: http.StatusNotFound},
		{name: "sitemap.xml under the version is not found", path: v + "/sitemap.xml", status: http.StatusNotFound},
		{name: "ads.txt under the version is not found", path: v + "/ads.txt", status: http.StatusNotFound},
		{name: "go-app's other wasm path is not found", path: "/app.wasm", status: http.StatusNotFound},
		{name: "go-app's goapp.wasm is not found", path: "/goapp.wasm", status: http.StatusNotFound},
		{name: "go-app's goapp.js is not found", path: "/goapp.js", status: http.StatusNotFound},
		{name: "go-app's manifest.json is not found", path: "/manifest.json", status: http.StatusNotFound},
		{name: "app.js under the version is not found", path: v + "/app.js", status: http.StatusNotFound},
		{name: "a page under the version is not found", path: v + "/therapist", status: http.StatusNotFound},
		{name: "a web file under the version is not found", path: v + "/web/app.css", status: http.StatusNotFound},
	}
	// Each form is tried on every path with the attacker's address: in the
	// Host header, and in an absolute-form request line (which net/http
	// also copies into r.Host).
	forms := []struct {
		name string
		send func(t *testing.T, path string) (int, []byte)
	}{
		{name: "Host header", send: func(t *testing.T, path string) (int, []byte) {
			return rawGet(t, srv.Listener.Addr().String(), path, evil.Addr().String())
		}},
		{name: "absolute-form URI", send: func(t *testing.T, path string) (int, []byte) {
			return rawGet(t, srv.Listener.Addr().String(), "http://"+evil.Addr().String()+path, evil.Addr().String())
		}},
	}
	check := func(t *testing.T, status, wantStatus int, body, wantBody []byte) {
		t.Helper()
		assert.Equal(t, wantStatus, status)
		assert.NotContains(t, string(body), attackerPage)
		if wantStatus == http.StatusOK && status == http.StatusOK {
			assert.Equal(t, wantBody, body)
		}
	}

	for _, form := range forms {
		for _, tt := range tests {
			status, body := form.send(t, tt.path)
			check(t, status, tt.status, body, tt.body)
		}
	}
	assert.Zero(t, evil.accepted.Load(), "the server connected to the Host it was given")

	// Nothing the forged requests did is kept: a normal request gets the
	// same answers.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := rawGet(t, srv.Listener.Addr().String(), tt.path, "chat.example.com")
			check(t, status, tt.status, body, tt.body)
		})
	}
	t.Cleanup(func() {
		assert.Zero(t, evil.accepted.Load(), "the server connected to the Host it was given")
	})
}

// rawGet sends one GET over its own connection, with target written as it
// is in the request line (net/http's client cannot send a forged Host with
// an absolute-form target), and returns the status and body.
func rawGet(t *testing.T, addr, target, host string) (int, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, body
}

func TestWithoutURLHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		path   string
		query  string
	}{
		{name: "an origin-form request is kept as it is", target: "/chat/a?as=customer", path: "/chat/a", query: "as=customer"},
		{name: "an absolute-form request loses its host and scheme", target: "http://evil.example/chat/a?as=customer", path: "/chat/a", query: "as=customer"},
		{name: "an absolute-form request loses its user", target: "https://user:pw@evil.example/robots.txt", path: "/robots.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			before := r.URL.String()
			got := bundle.WithoutURLHost(r)
			assert.Empty(t, got.URL.Scheme)
			assert.Empty(t, got.URL.Host)
			assert.Nil(t, got.URL.User)
			assert.Equal(t, tt.path, got.URL.Path)
			assert.Equal(t, tt.query, got.URL.RawQuery)
			assert.Equal(t, before, r.URL.String(), "the caller's request changed")
			assert.False(t, strings.Contains(got.URL.String(), "evil"))
		})
	}
}
