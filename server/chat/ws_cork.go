//go:build !wasm

package chat

import (
	"net"
	"sync"
	"time"
)

// corkLimit is how many bytes of frames the writer gathers before it sends
// them (see writeBatch).
const corkLimit = 32 << 10

// corkWriter sits under the library's write buffer. While corked it keeps
// what the library flushes, so that the frames a session's writer has
// waiting (a sender's own message and its ack, a replay) leave in one
// system call rather than one each; uncork sends them, with a deadline of
// its own since the library's per-write timeout no longer covers the socket.
// Frames the library writes from other goroutines meanwhile (its close
// frame) join them in order.
type corkWriter struct {
	conn   net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

func (w *corkWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.corked {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	return w.conn.Write(p)
}

func (w *corkWriter) cork() {
	w.mu.Lock()
	w.corked = true
	w.mu.Unlock()
}

// gathered is how many bytes wait to be sent.
func (w *corkWriter) gathered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// uncork sends what was gathered, failing if the peer does not take it
// within timeout.
func (w *corkWriter) uncork(timeout time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.corked = false
	if len(w.buf) == 0 {
		return nil
	}
	w.conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := w.conn.Write(w.buf)
	w.conn.SetWriteDeadline(time.Time{})
	// Not kept: most sessions are idle most of the time, and a buffer per
	// idle session would cost more than one allocation per batch.
	w.buf = nil
	return err
}
