//go:build !wasm

package integration_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/native"
	"tether/conn/wire"
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
