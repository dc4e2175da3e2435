//go:build !wasm

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/web"
)

// requireWasm fails rather than skips: without the embedded app.wasm the
// server cannot start, and a skipped test would hide a broken build.
func requireWasm(t testing.TB) {
	t.Helper()
	if _, err := fs.Stat(web.Files, web.Wasm); err != nil {
		t.Fatalf("web/app.wasm is not embedded (%v): run `make wasm` before `go test`", err)
	}
}

// testSecret signs the tokens of servers run without -dev.
var testSecret = []byte("a-test-secret-of-at-least-32-bytes-long")

// newMain is a server of cfg on a free port with a fresh data folder, its
// output discarded and its tokens signed with testSecret; it is not run.
func newMain(tb testing.TB, cfg Config) *Main {
	tb.Helper()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", tb.TempDir()
	return &Main{Config: cfg, Stdout: io.Discard, Logger: slog.New(slog.DiscardHandler), Secret: testSecret}
}

// runMain runs m, which needs the embedded app.wasm, and closes it when the
// test ends.
func runMain(tb testing.TB, m *Main) *Main {
	tb.Helper()
	requireWasm(tb)
	require.NoError(tb, m.Run(tb.Context()))
	tb.Cleanup(func() { m.Close() })
	return m
}

// start runs a dev server on a free port; it is closed when the test ends.
func start(t *testing.T, dev bool) (m *Main, stdout *bytes.Buffer, stop func() error) {
	t.Helper()
	stdout = &bytes.Buffer{}
	m = newMain(t, Config{Dev: dev})
	m.Stdout = stdout
	runMain(t, m)
	return m, stdout, m.Close
}

// get fetches url with the given request headers ("Name: value").
func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req := newRequest(t, http.MethodGet, url, header...)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

// newRequest is a request of the test with the given headers ("Name: value").
func newRequest(t *testing.T, method, url string, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	for _, kv := range header {
		k, v, _ := strings.Cut(kv, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	return req
}

// await returns the error done delivers, and fails the test with blocked
// when none comes within d.
func await(t *testing.T, done <-chan error, d time.Duration, blocked string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatal(blocked)
		return nil
	}
}

func toolchainWasmExec(t *testing.T) []byte {
	t.Helper()
	// `go env GOROOT` rather than runtime.GOROOT: it is the go command that
	// builds app.wasm, and the test binary may be built by another.
	out, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err, "go env GOROOT")
	js, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js"))
	require.NoError(t, err)
	return js
}

func TestServerServesTheBundleAndTheAPI(t *testing.T) {
	t.Parallel()
	m, _, _ := start(t, true)
	wasmBrotli, err := fs.ReadFile(web.Files, web.WasmBrotli)
	require.NoError(t, err, "run `make wasm`: it writes app.wasm.br")
	wasmExec := toolchainWasmExec(t)

	tests := []struct {
		name   string
		path   string
		header []string
		status int
		check  func(t *testing.T, res *http.Response, body []byte)
	}{
		{name: "ping answers no content", path: "/api/ping", status: http.StatusNoContent},
		{name: "an unknown API path is the API's JSON not found", path: "/api/nope", status: http.StatusNotFound,
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
				assert.Contains(t, string(body), `"error":"not_found"`)
			}},
		{name: "app.wasm is brotli when the client accepts br", path: "/web/app.wasm", header: []string{"Accept-Encoding: br, gzip"}, status: http.StatusOK,
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.Equal(t, "br", res.Header.Get("Content-Encoding"))
				assert.Equal(t, "application/wasm", res.Header.Get("Content-Type"))
				assert.True(t, bytes.Equal(wasmBrotli, body), "the body is not the embedded app.wasm.br")
			}},
		{name: "wasm_exec.js is the toolchain's, byte for byte", path: "/wasm_exec.js", status: http.StatusOK,
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.True(t, bytes.Equal(wasmExec, body),
					"/wasm_exec.js differs from $(go env GOROOT)/lib/wasm/wasm_exec.js: run `make wasm`")
			}},
		{name: "a booking chat page is served", path: "/chat/any-room", status: http.StatusOK,
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.Contains(t, string(body), `data-testid="chat-header"`)
			}},
		{name: "the therapist page is served", path: "/therapist", status: http.StatusOK,
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.Contains(t, string(body), `data-testid="chat-header"`)
			}},
		{name: "app.css is served from the binary", path: "/web/app.css", status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := get(t, m.URL()+tt.path, tt.header...)
			require.Equal(t, tt.status, res.StatusCode)
			if tt.check != nil {
				tt.check(t, res, body)
			}
		})
	}
}

func TestServerPrintsWhereItServes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		dev       bool
		demoLinks bool
	}{
		{name: "dev mode prints the URL and the two demo links", dev: true, demoLinks: true},
		{name: "without dev mode only the URL is printed", dev: false, demoLinks: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, stdout, _ := start(t, tt.dev)
			require.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, m.URL())

			lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
			assert.Equal(t, "tether serving "+m.URL()+"/", lines[0])
			if !tt.demoLinks {
				assert.Len(t, lines, 1, "stdout: %q", stdout.String())
				return
			}
			require.Len(t, lines, 3, "stdout: %q", stdout.String())
			customer := m.URL() + "/chat/demo-booking?as=customer&name=Casey"
			therapist := m.URL() + "/therapist?as=therapist&name=Taylor"
			assert.Regexp(t, `^\s*customer:\s+`+regexp.QuoteMeta(customer)+`$`, lines[1])
			assert.Regexp(t, `^\s*therapist:\s+`+regexp.QuoteMeta(therapist)+`$`, lines[2])
			// The printed links are meant to be clicked: they must open pages.
			for _, link := range []string{customer, therapist} {
				res, _ := get(t, link)
				assert.Equal(t, http.StatusOK, res.StatusCode, link)
			}
		})
	}
}

func TestCloseStopsTheServer(t *testing.T) {
	t.Parallel()
	m, _, stop := start(t, true)
	addr := strings.TrimPrefix(m.URL(), "http://")
	res, _ := get(t, m.URL()+"/api/ping")
	require.Equal(t, http.StatusNoContent, res.StatusCode)

	require.NoError(t, stop())
	_, err := net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "the server still accepts connections after Close")
}

// A download in flight when Close is called must finish: a release restart
// must not cut off a browser loading app.wasm.
func TestCloseLetsARequestInFlightFinish(t *testing.T) {
	t.Parallel()
	m, _, stop := start(t, true)
	wasm, err := fs.ReadFile(web.Files, web.Wasm)
	require.NoError(t, err)
	addr := strings.TrimPrefix(m.URL(), "http://")

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, m.URL()+"/web/app.wasm", nil)
	require.NoError(t, err)
	// The uncompressed body is the largest, so the handler is still writing
	// it when Close starts: the client reads only the first bytes until then.
	req.Header.Set("Accept-Encoding", "identity")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	first := make([]byte, 1024)
	_, err = io.ReadFull(res.Body, first)
	require.NoError(t, err)

	closed := make(chan error, 1)
	go func() { closed <- stop() }()
	// Once the listener refuses connections, Shutdown is under way.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 10*time.Second, 10*time.Millisecond, "Close did not stop the listener")

	rest, err := io.ReadAll(res.Body)
	require.NoError(t, err, "the download was cut off by Close")
	assert.True(t, bytes.Equal(wasm, append(first, rest...)), "the download is incomplete")
	assert.NoError(t, await(t, closed, 15*time.Second, "Close did not return after the request finished"))
}

func TestRunFails(t *testing.T) {
	t.Parallel()
	requireWasm(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))

	tests := []struct {
		name     string
		addr     string
		dataDir  string
		contains []string
	}{
		{name: "the address is taken", addr: taken.Addr().String(), dataDir: t.TempDir(),
			contains: []string{"failed to listen", taken.Addr().String()}},
		{name: "the data folder cannot be created", addr: "127.0.0.1:0", dataDir: filepath.Join(file, "data"),
			contains: []string{"failed to create the data folder"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout bytes.Buffer
			m := &Main{Config: Config{Addr: tt.addr, DataDir: tt.dataDir}, Stdout: &stdout, Logger: slog.New(slog.DiscardHandler), Secret: testSecret}
			err := m.Run(t.Context())
			require.Error(t, err)
			for _, s := range tt.contains {
				assert.ErrorContains(t, err, s)
			}
			// Nothing was started: no URL to open, and nothing to stop.
			assert.Empty(t, stdout.String())
			assert.NoError(t, m.Close())
		})
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	const ttl = 15 * time.Minute
	tests := []struct {
		name    string
		args    []string
		want    Config
		wantErr string // "" for success
		is      error
	}{
		{name: "defaults serve on localhost:8080 from ./data without dev", args: nil,
			want: Config{Addr: "localhost:8080", DataDir: "./data", Dev: false, TokenTTL: ttl}},
		{name: "custom values are read", args: []string{"-addr", "127.0.0.1:0", "-data", "/tmp/x", "-dev"},
			want: Config{Addr: "127.0.0.1:0", DataDir: "/tmp/x", Dev: true, TokenTTL: ttl}},
		{name: "the double-dash form with = is read", args: []string{"--addr=:9000", "--data=d", "--dev=false"},
			want: Config{Addr: ":9000", DataDir: "d", Dev: false, TokenTTL: ttl}},
		{name: "-store takes the URL of a shared PostgreSQL database", args: []string{"-store", "postgres://db.internal/tether"},
			want: Config{Addr: "localhost:8080", DataDir: "./data", Store: "postgres://db.internal/tether", TokenTTL: ttl}},
		{name: "-debug-addr serves the profiles apart", args: []string{"-debug-addr", "127.0.0.1:6060"},
			want: Config{Addr: "localhost:8080", DataDir: "./data", DebugAddr: "127.0.0.1:6060", TokenTTL: ttl}},
		{name: "-dev on every interface is refused", args: []string{"-dev", "-addr", ":8080"},
			wantErr: "-dev (tokens for any user and room) must listen on a loopback address"},
		{name: "-faults on 0.0.0.0 is refused", args: []string{"-faults", "-addr", "0.0.0.0:8080"},
			wantErr: "add -insecure-public-dev to expose it on purpose"},
		{name: "-dev on ::1 is allowed", args: []string{"-dev", "-faults", "-addr", "[::1]:0"},
			want: Config{Addr: "[::1]:0", DataDir: "./data", Dev: true, Faults: true, TokenTTL: ttl}},
		{name: "-insecure-public-dev exposes -dev and -faults on purpose", args: []string{"-dev", "-faults", "-insecure-public-dev", "-addr", ":8080"},
			want: Config{Addr: ":8080", DataDir: "./data", Dev: true, Faults: true, InsecurePublicDev: true, TokenTTL: ttl}},
		{name: "-metrics-addr serves the metrics apart", args: []string{"-metrics-addr", "127.0.0.1:9090"},
			want: Config{Addr: "localhost:8080", DataDir: "./data", MetricsAddr: "127.0.0.1:9090", TokenTTL: ttl}},
		{name: "-public-origin takes the origins the server is reached at", args: []string{"-public-origin", "https://chat.example.com,https://chat.example.org"},
			want: Config{Addr: "localhost:8080", DataDir: "./data", PublicOrigin: "https://chat.example.com,https://chat.example.org", TokenTTL: ttl}},
		{name: "-token-ttl sets the sessions' token life", args: []string{"-token-ttl", "20s"},
			want: Config{Addr: "localhost:8080", DataDir: "./data", TokenTTL: 20 * time.Second}},
		{name: "a -token-ttl past a day is refused", args: []string{"-token-ttl", "25h"}, wantErr: "-token-ttl 25h0m0s is out of range"},
		{name: "an unknown flag is an error", args: []string{"-port", "80"}, wantErr: "flag provided but not defined: -port"},
		{name: "stray arguments are an error", args: []string{"-dev", "serve"}, wantErr: "unexpected arguments: [serve]"},
		{name: "-h asks for help", args: []string{"-h"}, is: flag.ErrHelp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFlags(tt.args)
			switch {
			case tt.is != nil:
				assert.ErrorIs(t, err, tt.is)
			case tt.wantErr != "":
				assert.ErrorContains(t, err, tt.wantErr)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

// An operator profiles a server on the debug address; the public address
// never serves the profiles.
func TestTheProfilesAreServedOnTheDebugAddressOnly(t *testing.T) {
	t.Parallel()
	m := runMain(t, newMain(t, Config{DebugAddr: "127.0.0.1:0"}))
	require.NotEmpty(t, m.DebugURL())

	res, body := get(t, m.DebugURL()+"/debug/pprof/goroutine?debug=1")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "goroutine profile:")

	res, _ = get(t, m.URL()+"/debug/pprof/goroutine?debug=1")
	assert.NotEqual(t, http.StatusOK, res.StatusCode)

	// The command line may hold the -store URL with its password.
	res, body = get(t, m.DebugURL()+"/debug/pprof/cmdline")
	assert.NotEqual(t, http.StatusOK, res.StatusCode, "%s", body)

	require.NoError(t, m.Close())
	_, err := http.Get(m.DebugURL() + "/debug/pprof/")
	assert.Error(t, err, "the debug listener outlives Close")
}

// Close after a Run that never started must not block on the serve result.
func TestCloseWithoutRunReturnsNil(t *testing.T) {
	t.Parallel()
	done := make(chan error, 1)
	go func() { done <- (&Main{}).Close() }()
	assert.NoError(t, await(t, done, 5*time.Second, "Close blocked"))
}

func TestCloseTwiceReturnsTheFirstResult(t *testing.T) {
	m, _, _ := start(t, false)
	done := make(chan error, 1)
	go func() {
		require.NoError(t, m.Close())
		done <- m.Close()
	}()
	assert.NoError(t, await(t, done, 15*time.Second, "a second Close blocked"))
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	stdout := &bytes.Buffer{}
	m := newMain(t, Config{Dev: true, MetricsAddr: "127.0.0.1:0"})
	m.Stdout = stdout
	runMain(t, m)
	require.NotEmpty(t, m.MetricsURL())
	// The harness of make bench finds the metrics here, before it reads
	// the serving line.
	assert.True(t, strings.HasPrefix(stdout.String(), "tether metrics "+m.MetricsURL()+"\n"), "stdout: %q", stdout.String())

	res, body := get(t, m.URL()+"/healthz")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "ok\n", string(body))
	res, _ = get(t, m.URL()+"/metrics")
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the public address serves the metrics")

	// One message posted over HTTP shows in the counters an operator reads.
	res, body = get(t, m.URL()+"/api/dev/token?room=metrics-room&user=casey")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal(body, &tok))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, m.URL()+"/api/rooms/metrics-room/messages",
		strings.NewReader(`{"client_id":"c1","body":"hello"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	posted, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	posted.Body.Close()
	require.Equal(t, http.StatusCreated, posted.StatusCode)

	res, body = get(t, m.MetricsURL())
	require.Equal(t, http.StatusOK, res.StatusCode)
	text := string(body)
	for _, want := range []string{
		"tether_ws_connections 0",
		"tether_messages_stored_total 1",
		"tether_acks_total 1",
		`tether_store_seconds_count{op="append"} 1`,
		"go_goroutines",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, tok.Token, "tokens never reach the metrics")
}
