//go:build !wasm

package chat

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/metrics"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes++
	return c.Conn.Write(p)
}

func TestCorkedFramesLeaveInOneWrite(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	conn := &countingConn{Conn: server}
	w := &corkWriter{conn: conn}
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		read <- b
	}()

	w.cork()
	for _, frame := range []string{"one,", "two,", "three,"} {
		n, err := w.Write([]byte(frame))
		require.NoError(t, err)
		require.Equal(t, len(frame), n)
	}
	assert.Equal(t, 0, conn.writes, "a corked write reached the socket")
	assert.Equal(t, len("one,two,three,"), w.gathered())
	require.NoError(t, w.uncork(time.Second))
	assert.Equal(t, 1, conn.writes)

	// Uncorked, a write goes straight through.
	_, err := w.Write([]byte("four"))
	require.NoError(t, err)
	assert.Equal(t, 2, conn.writes)
	require.NoError(t, w.uncork(time.Second), "nothing gathered: nothing to send")
	assert.Equal(t, 2, conn.writes)

	server.Close()
	assert.Equal(t, "one,two,three,four", string(<-read))
}

// A peer that stops reading fails the uncork within its timeout rather
// than holding the session's writer forever.
func TestUncorkFailsWhenThePeerDoesNotRead(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	w := &corkWriter{conn: server}
	w.cork()
	_, err := w.Write([]byte("nobody reads this"))
	require.NoError(t, err)
	err = w.uncork(50 * time.Millisecond)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)

	// The deadline is lifted again for the writes that follow.
	go io.Copy(io.Discard, client)
	_, err = w.Write([]byte("read now"))
	assert.NoError(t, err)
}

// A sender's own message waits in its session's queue for the ack, and the
// two leave in one write; an echo whose ack never comes (the send failed)
// leaves when onSend is done.
func TestAnEchoWaitsForItsAck(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{}, nil, nil, nil, metrics.New(), slog.New(slog.DiscardHandler))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(h.ServeWS))
	var writes atomic.Int64
	srv.Listener = &countingListener{Listener: srv.Listener, writes: &writes}
	srv.Start()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
	require.NoError(t, err)
	defer client.CloseNow()
	var c *wsConn
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for s := range h.conns {
			c = s
		}
		return c != nil
	}, 5*time.Second, 5*time.Millisecond)
	read := func() string {
		_, b, err := client.Read(ctx)
		require.NoError(t, err)
		return string(b)
	}
	writing := func() bool {
		c.qmu.Lock()
		defer c.qmu.Unlock()
		return c.writing
	}

	before := writes.Load()
	k := ackKey{"booking-1", "c1"}
	c.startAcking(k)
	require.True(t, c.enqueueEcho([]byte(`{"type":"message","seq":1}`), k))
	assert.False(t, writing(), "the echo started the writer before its ack")
	require.True(t, c.send(&wire.Ack{Room: "booking-1", ClientID: "c1", Seq: 1, SentAt: 1}))
	c.doneAcking()
	assert.Equal(t, `{"type":"message","seq":1}`, read())
	assert.Contains(t, read(), `"type":"ack"`)
	assert.Equal(t, int64(1), writes.Load()-before, "writes for the echo and its ack")

	// Another room's message, or another client_id, is not held.
	require.Eventually(t, func() bool { return !writing() }, 5*time.Second, time.Millisecond)
	c.startAcking(ackKey{"booking-1", "c2"})
	require.True(t, c.enqueueEcho([]byte(`{"type":"message","seq":2}`), ackKey{"booking-1", "c-other"}))
	assert.Equal(t, `{"type":"message","seq":2}`, read())

	// An echo whose ack never comes leaves once onSend is done.
	require.True(t, c.enqueueEcho([]byte(`{"type":"message","seq":3}`), ackKey{"booking-1", "c2"}))
	c.doneAcking()
	assert.Equal(t, `{"type":"message","seq":3}`, read())
}

// countingListener counts the writes to the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, writes: l.writes}, nil
}

type countedConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
