//go:build js && wasm

package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/browser"
	"tether/conn/wire"
	"tether/internal/syncbuf"
)

// The tests talk to a real tether server that `make test-wasm` starts
// (-dev -faults, this page's origin allowed) and names in TETHER_TEST_URL.
func serverURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("TETHER_TEST_URL")
	if u == "" {
		t.Fatal("TETHER_TEST_URL is not set: run these tests with `make test-wasm`, which starts the server they need")
	}
	return u
}

var unique atomic.Int64

// name returns a fresh room or user name, so tests never share state on the
// one server.
func name(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000_000, unique.Add(1))
}

func testContext(t *testing.T) context.Context {
	// Not t.Context(): cleanups use it too, and that one ends before them.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// devToken asks the server for a token of user in room.
func devToken(t *testing.T, room, user, role string) string {
	t.Helper()
	h := &browser.HTTP{BaseURL: serverURL(t)}
	q := url.Values{"room": {room}, "user": {user}, "name": {user}, "role": {role}}
	if room == "" {
		q.Del("room")
	}
	tok, err := browser.DevTokens(h, q)(testContext(t))
	require.NoError(t, err)
	require.NotEmpty(t, tok)
	return tok
}

// setFaults switches faults of the test backend.
func setFaults(t *testing.T, body string) {
	t.Helper()
	fetchJSON(t, "POST", "/api/test/faults", body)
}

// fetchJSON calls the server with fetch, outside the port under test.
func fetchJSON(t *testing.T, method, path, body string) {
	t.Helper()
	init := map[string]any{"method": method}
	if body != "" {
		init["body"] = body
		init["headers"] = map[string]any{"Content-Type": "application/json"}
	}
	initJS, err := safejs.ValueOf(init)
	require.NoError(t, err)
	promise, err := safejs.Global().Call("fetch", serverURL(t)+path, initJS)
	require.NoError(t, err)
	res, err := browser.Await(testContext(t), promise)
	require.NoError(t, err)
	status, err := res.Get("status")
	require.NoError(t, err)
	code, err := status.Int()
	require.NoError(t, err)
	require.Equal(t, 200, code, "%s %s", method, path)
}

// events records what a socket reports.
type events struct {
	frames chan wire.Frame
	closes chan closeEvent
}

type closeEvent struct {
	code   wire.CloseCode
	reason string
}

func newEvents() *events {
	return &events{frames: make(chan wire.Frame, 64), closes: make(chan closeEvent, 1)}
}

func (e *events) socketEvents(t *testing.T) conn.SocketEvents {
	return conn.SocketEvents{
		OnFrame: func(data []byte) {
			f, err := wire.Decode(data)
			if err != nil {
				t.Errorf("a frame did not decode: %v: %s", err, data)
				return
			}
			e.frames <- f
		},
		OnClose: func(code wire.CloseCode, reason string) { e.closes <- closeEvent{code, reason} },
	}
}

// next waits for the next frame of type T, skipping others.
func next[T wire.Frame](t *testing.T, e *events) T {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-e.frames:
			if v, ok := f.(T); ok {
				return v
			}
		case c := <-e.closes:
			t.Fatalf("the socket closed (%d %q) while waiting for a frame", c.code, c.reason)
		case <-deadline:
			var zero T
			t.Fatalf("no %T within 10 s", zero)
		}
	}
}

func (e *events) waitClose(t *testing.T) closeEvent {
	t.Helper()
	select {
	case c := <-e.closes:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the socket did not close within 10 s")
		return closeEvent{}
	}
}

func send(t *testing.T, s conn.Socket, f wire.Frame) {
	t.Helper()
	data, err := wire.Encode(f)
	require.NoError(t, err)
	require.NoError(t, s.Send(data))
}

// dialWelcomed opens a socket and completes the hello.
func dialWelcomed(t *testing.T, token string) (conn.Socket, *events, *browser.Dialer) {
	t.Helper()
	e := newEvents()
	d := &browser.Dialer{URL: browser.WebSocketURL(serverURL(t))}
	s, err := d.Dial(testContext(t), e.socketEvents(t))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(wire.CloseNormal, "test over") })
	send(t, s, &wire.Hello{Token: token})
	next[*wire.Welcome](t, e)
	return s, e, d
}

// logs collects the service's log lines.
type logs struct{ syncbuf.Buffer }

func (l *logs) has(s string) bool { return strings.Contains(l.String(), s) }

func (l *logs) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// dispatch fires a plain event named name on window or document.
func dispatch(t *testing.T, target, name string) {
	t.Helper()
	tgt, err := safejs.Global().Get(target)
	require.NoError(t, err)
	ctor, err := safejs.Global().Get("Event")
	require.NoError(t, err)
	ev, err := ctor.New(name)
	require.NoError(t, err)
	_, err = tgt.Call("dispatchEvent", ev)
	require.NoError(t, err)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}
