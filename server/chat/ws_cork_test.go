//go:build !wasm

package chat

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
