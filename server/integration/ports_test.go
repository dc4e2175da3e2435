//go:build !wasm

package integration_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/store/storetest"
)

// socketRecorder collects what a native socket reports.
type socketRecorder struct {
	mu     sync.Mutex
	frames []wire.Frame
	code   wire.CloseCode
	reason string
	closed chan struct{}
}

func newSocketRecorder() *socketRecorder { return &socketRecorder{closed: make(chan struct{})} }

func (r *socketRecorder) events(t *testing.T) conn.SocketEvents {
	return conn.SocketEvents{
		OnFrame: func(data []byte) {
			f, err := wire.Decode(data)
			assert.NoError(t, err)
			r.mu.Lock()
			r.frames = append(r.frames, f)
			r.mu.Unlock()
		},
		OnClose: func(code wire.CloseCode, reason string) {
			r.mu.Lock()
			r.code, r.reason = code, reason
			r.mu.Unlock()
			close(r.closed)
		},
	}
}

func (r *socketRecorder) waitFrames(t *testing.T, n int) []wire.Frame {
	t.Helper()
	eventually(t, 5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.frames) >= n
	}, "frames")
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wire.Frame(nil), r.frames...)
}

func (r *socketRecorder) waitClose(t *testing.T) (wire.CloseCode, string) {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the socket did not report its end")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.code, r.reason
}

// The service's native ports speak the real protocol: frames in order, the
// close code the server chose, 1006 when the link is cut, and the HTTP
// answers mapped to the port's errors.
func TestNativePortsAgainstTheServer(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	ctx := testContext(t)
	tok := token(t, m, "ports-room", "casey", wire.RoleCustomer)
	encode := func(f wire.Frame) []byte {
		b, err := wire.Encode(f)
		require.NoError(t, err)
		return b
	}

	t.Run("frames arrive in order and a drain closes with 4001", func(t *testing.T) {
		rec := newSocketRecorder()
		sock, err := (&native.Dialer{BaseURL: m.URL()}).Dial(ctx, rec.events(t))
		require.NoError(t, err)
		require.NoError(t, sock.Send(encode(&wire.Hello{Token: tok})))
		require.NoError(t, sock.Send(encode(&wire.Ping{ID: 7})))
		frames := rec.waitFrames(t, 2)
		require.IsType(t, &wire.Welcome{}, frames[0])
		require.Equal(t, &wire.Pong{ID: 7, ServerTime: frames[1].(*wire.Pong).ServerTime}, frames[1])

		require.NoError(t, sock.Close(wire.CloseNormal, "bye"))
		code, _ := rec.waitClose(t)
		assert.Equal(t, wire.CloseNormal, code)
	})

	t.Run("a bad token is closed with 4401", func(t *testing.T) {
		rec := newSocketRecorder()
		sock, err := (&native.Dialer{BaseURL: m.URL()}).Dial(ctx, rec.events(t))
		require.NoError(t, err)
		require.NoError(t, sock.Send(encode(&wire.Hello{Token: "not-a-token"})))
		code, reason := rec.waitClose(t)
		assert.Equal(t, wire.CloseUnauthorized, code)
		assert.Equal(t, "invalid token", reason)
	})

	t.Run("a dropped link reports 1006", func(t *testing.T) {
		rec := newSocketRecorder()
		sock, err := (&native.Dialer{BaseURL: m.URL()}).Dial(ctx, rec.events(t))
		require.NoError(t, err)
		require.NoError(t, sock.Send(encode(&wire.Hello{Token: tok})))
		rec.waitFrames(t, 1)
		setFaults(t, m, `{"drop":"all"}`)
		code, _ := rec.waitClose(t)
		assert.Equal(t, wire.CloseAbnormal, code)
	})

	t.Run("a refused upgrade is an HTTP 503", func(t *testing.T) {
		setFaults(t, m, `{"refuse_websocket":true}`)
		defer setFaults(t, m, `{"refuse_websocket":false}`)
		_, err := (&native.Dialer{BaseURL: m.URL()}).Dial(ctx, newSocketRecorder().events(t))
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 503, he.Status)
	})

	t.Run("HTTP posts, long-polls and maps errors", func(t *testing.T) {
		h := &native.HTTP{BaseURL: m.URL()}
		require.NoError(t, h.Ping(ctx))
		posted, err := h.Post(ctx, tok, "ports-room", "p-1", "over HTTP")
		require.NoError(t, err)
		page, err := h.Messages(ctx, tok, "ports-room", posted.Seq-1, time.Second, 10)
		require.NoError(t, err)
		require.Len(t, page.Messages, 1)
		assert.Equal(t, "over HTTP", page.Messages[0].Body)

		_, err = h.Post(ctx, tok, "another-room", "p-2", "not mine")
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 403, he.Status)
		assert.Equal(t, wire.CodeForbidden, he.Code)
	})
}

// The service's history pages against the real server: what a chat shows
// above the messages it was delivered.

func TestServiceHistoryAgainstTheServer(t *testing.T) {
	t.Parallel()
	const room = "svc-history"
	m := startNode(t)
	ctx := testContext(t)
	casey := httpClient(m, token(t, m, room, "casey", wire.RoleCustomer))
	for i := 1; i <= 7; i++ {
		_, _, err := casey.Post(ctx, room, fmt.Sprintf("h-%d", i), fmt.Sprintf("m%d", i))
		require.NoError(t, err)
	}

	newService := func(t *testing.T, tokens conn.TokenSource) *conn.Service {
		svc := conn.New(fastConfig, native.Ports(m.URL(), tokens))
		t.Cleanup(svc.Close)
		return svc
	}

	t.Run("pages go backwards from the newest, each in seq order", func(t *testing.T) {
		svc := newService(t, native.NewStaticTokens(token(t, m, room, "taylor", wire.RoleTherapist)))
		requirePagesOfSeven(t, func(before int64) []wire.Message {
			msgs, err := svc.History(ctx, room, before, 3)
			require.NoError(t, err)
			return msgs
		})
		msgs, err := svc.History(ctx, room, 0, 0)
		require.NoError(t, err)
		assert.Equal(t, []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7"}, bodies(msgs), "limit 0 takes the server's default page")
	})

	t.Run("a refused token is renewed and the page read with the new one", func(t *testing.T) {
		tokens := native.NewStaticTokens("not-a-token")
		tokens.RefreshFunc = func(ctx context.Context) (string, error) {
			return native.DevToken(ctx, m.URL(), room, "taylor", "Taylor", wire.RoleTherapist)
		}
		svc := newService(t, tokens)
		msgs, err := svc.History(ctx, room, 0, 2)
		require.NoError(t, err)
		assert.Equal(t, storetest.Span(6, 7), storetest.Seqs(msgs))
	})

	t.Run("a room of someone else is forbidden", func(t *testing.T) {
		svc := newService(t, native.NewStaticTokens(token(t, m, room, "taylor", wire.RoleTherapist)))
		_, err := svc.History(ctx, "someone-else", 0, 10)
		assert.ErrorIs(t, err, conn.ErrForbidden)
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 403, he.Status)
	})
}
