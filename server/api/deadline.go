//go:build !wasm

package api

import (
	"net/http"
	"time"
)

// deadlineChunk is how much of an answer one write deadline covers: a peer
// must take this much within the timeout to keep the answer going, so a
// slow link gets a big history page in the end and a peer that reads
// nothing is cut off after one timeout.
const deadlineChunk = 32 << 10

// writeDeadlines gives every answer a write deadline, set afresh before each
// piece of it is written: a peer that never reads an answer (ten history
// pages of 500 messages, say) no longer holds the handler, its goroutine
// and the answer in memory forever. A long-poll's deadline thus starts when
// it answers, not when it came. Upgraded WebSocket connections are
// hijacked before anything is written here; chat clears any deadline left
// on them.
func writeDeadlines(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}, r)
	})
}

// deadlineWriter is the ResponseWriter of writeDeadlines; it runs on the
// request's goroutine.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// Unwrap lets http.ResponseController reach the connection (hijack, flush).
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

func (d *deadlineWriter) arm() {
	// Not supported by a ResponseRecorder in tests: nothing to bound there.
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
}

func (d *deadlineWriter) WriteHeader(status int) {
	d.arm()
	d.ResponseWriter.WriteHeader(status)
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), deadlineChunk)]
		d.arm()
		n, err := d.ResponseWriter.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// Flush sends what is buffered, within the deadline.
func (d *deadlineWriter) Flush() {
	d.arm()
	_ = d.rc.Flush()
}
