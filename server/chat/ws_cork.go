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
		if w.buf == nil {
			w.buf = *corkBuffers.Get().(*[]byte)
		}
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
	// Not kept by the session: most sessions are idle most of the time, and
	// a buffer each would cost every idle connection. Shared through a pool
	// instead, since one taken afresh per batch was a quarter of the bytes
	// the server allocated under load, and its collections stalled writes.
	if cap(w.buf) <= corkLimit+maxPooledFrame {
		b := w.buf[:0]
		corkBuffers.Put(&b)
	}
	w.buf = nil
	return err
}

// maxPooledFrame is the largest frame beyond corkLimit that a gathering
// buffer may have grown by and still go back to the pool: one frame may
// take a batch past the limit, a replay's largest (a page of history) is
// a few KiB, and keeping larger buffers would let one burst pin memory.
const maxPooledFrame = 16 << 10

// corkBuffers are the gathering buffers of the writers that run.
var corkBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 4<<10)
	return &b
}}
