//go:build !wasm

package chat

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"time"
)

// A session's buffers. net/http's are 4 KiB each and would stay with the
// session for its life; protocol v1 frames are mostly a few hundred bytes,
// and a longer one goes through the read buffer in two system calls instead
// of one. The write buffer is only where the library masks and frames: the
// session's writer gathers whole frames under it (corkWriter), so a frame
// longer than it still leaves in one system call.
const (
	readBufferSize  = 512
	writeBufferSize = 256
)

// upgrade hands websocket.Accept a hijacked connection with the small
// buffers above in place of net/http's, and keeps what the session needs
// to wait for input without a reader parked in the library (see
// waitReadable).
type upgrade struct {
	http.ResponseWriter
	hijacked
}

// hijacked is what a session keeps of its upgrade; not the ResponseWriter,
// which holds on to net/http's request and buffers.
type hijacked struct {
	conn  net.Conn
	br    *bufio.Reader
	early int // bytes the client sent behind its request
	out   *corkWriter
}

func (u *upgrade) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// Hijack takes the connection from net/http.
func (u *upgrade) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(u.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// A deadline an earlier answer on this connection set (see the API's
	// write deadlines) must not cut the session: its writes have their own.
	conn.SetWriteDeadline(time.Time{})
	// What the client sent after its request, already read into net/http's
	// buffer, must stay buffered in ours: the library reads the buffered
	// bytes first and then the connection itself.
	size := readBufferSize
	var r io.Reader = conn
	n := brw.Reader.Buffered()
	if n > 0 {
		early, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
		size = max(size, n)
	}
	br := bufio.NewReaderSize(r, size)
	if n > 0 {
		if _, err := br.Peek(n); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	if err := brw.Writer.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	u.conn, u.br, u.early, u.out = conn, br, n, &corkWriter{conn: conn}
	return flushingConn{Conn: conn, out: u.out}, bufio.NewReadWriter(br, bufio.NewWriterSize(u.out, writeBufferSize)), nil
}

// flushingConn is the hijacked connection as the library holds it: closing
// it first sends what the cork gathered. The library answers a peer's
// close frame from the reader's goroutine and closes the connection at
// once; while the writer had a batch corked, that answer waited in the
// cork and was lost with the connection, and the peer saw EOF instead of
// its close handshake.
type flushingConn struct {
	net.Conn
	out *corkWriter
}

// closeFlushTimeout bounds the last write of a closing connection.
const closeFlushTimeout = time.Second

func (c flushingConn) Close() error {
	c.out.uncork(closeFlushTimeout)
	return c.Conn.Close()
}

// accepted is called once websocket.Accept has returned. The library has
// moved what was buffered behind the request (see Hijack) into the reader
// under the buffer; it goes back into the buffer, where buffered sees it.
func (h hijacked) accepted() error {
	if h.early == 0 {
		return nil
	}
	_, err := h.br.Peek(h.early)
	return err
}

// buffered reports whether input waits in the session's read buffer.
func (h hijacked) buffered() bool { return h.br != nil && h.br.Buffered() > 0 }
