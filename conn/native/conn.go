//go:build !wasm

// Package native is a small protocol v1 client for Go programs: integration
// tests, the native ports of the stability service and the load generator.
// It speaks the wire package's frames over coder/websocket and the HTTP
// fallback over net/http, and adds nothing of its own: no reconnection, no
// retries. What the server answers is what the caller gets, typed.
package native

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"tether/conn/wire"
)

// ErrClosed is what reads return after Close.
var ErrClosed = errors.New("connection closed by the client")

// Option tunes Dial and DialRaw.
type Option func(*options)

type options struct {
	resume       map[string]int64
	header       http.Header
	subprotocols []string
}

// WithResume makes the hello resume these rooms from these seqs.
func WithResume(resume map[string]int64) Option {
	return func(o *options) { o.resume = resume }
}

// WithHeader adds headers to the upgrade request, e.g. an Origin.
func WithHeader(h http.Header) Option {
	return func(o *options) { o.header = h }
}

// WithSubprotocols offers these subprotocols instead of wire.Subprotocol;
// tests use it to check that the server refuses others.
func WithSubprotocols(protocols ...string) Option {
	return func(o *options) { o.subprotocols = protocols }
}

// Conn is one protocol v1 WebSocket session.
//
// Writes may come from any goroutine. Reads (Next and the helpers that wait
// for an answer) must come from one goroutine at a time. A background
// goroutine reads one frame ahead and then waits for Next, so a caller that
// stops reading makes the server's writes back up, as a slow peer would.
type Conn struct {
	ws      *websocket.Conn
	welcome atomic.Pointer[wire.Welcome]

	ctx    context.Context // ends with Close; the reader's context
	cancel context.CancelFunc

	frames chan readResult // unbuffered: the reader hands over one at a time
	done   chan struct{}   // closed when the reader stops; err is then set
	err    error

	mu      sync.Mutex
	pending []wire.Frame // frames read while a helper waited for another
	closing atomic.Bool
}

type readResult struct {
	frame wire.Frame
	err   error // not fatal: a frame the client cannot decode
}

// Dial opens a session at baseURL (http(s)://host[:port]): it upgrades
// /api/ws with subprotocol tether.v1, sends hello with token and waits for
// welcome. A refused upgrade is a *conn.HTTPError; a socket closed before
// welcome (4401 for a bad token) is a *CloseError; an error frame in answer
// to hello is a *FrameError.
func Dial(ctx context.Context, baseURL, token string, opts ...Option) (*Conn, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c, err := DialRaw(ctx, baseURL, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := c.Hello(ctx, token, o.resume); err != nil {
		c.closeNow()
		return nil, err
	}
	return c, nil
}

// DialRaw upgrades /api/ws but sends nothing: the caller sends hello (see
// Hello), or tests what the server does without one.
func DialRaw(ctx context.Context, baseURL string, opts ...Option) (*Conn, error) {
	o := options{subprotocols: []string{wire.Subprotocol}}
	for _, opt := range opts {
		opt(&o)
	}
	u, err := wsURL(baseURL)
	if err != nil {
		return nil, err
	}
	ws, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPHeader:   o.header,
		Subprotocols: o.subprotocols,
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			return nil, newHTTPError(res, err)
		}
		return nil, fmt.Errorf("failed to dial %s: %w", u, err)
	}
	// The server's frames are bounded by the protocol; the library's default
	// of 32 KiB is not enough for a message of 4000 emoji.
	ws.SetReadLimit(wire.MaxFrameBytes)
	cctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		ws: ws, ctx: cctx, cancel: cancel,
		frames: make(chan readResult),
		done:   make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// wsURL turns a base URL into the URL of the WebSocket endpoint.
func wsURL(baseURL string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil {
		return "", fmt.Errorf("failed to parse the base URL %q: %w", baseURL, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("base URL %q is not http(s) or ws(s)", baseURL)
	}
	u.Path += "/api/ws"
	return u.String(), nil
}

// Hello sends hello and waits for welcome, which Welcome then returns. An
// error frame that comes first is returned as a *FrameError; other frames
// stay for Next.
func (c *Conn) Hello(ctx context.Context, token string, resume map[string]int64) (*wire.Welcome, error) {
	if err := c.Write(ctx, &wire.Hello{Token: token, Resume: resume}); err != nil {
		return nil, err
	}
	f, err := c.NextMatch(ctx, func(f wire.Frame) bool {
		switch f.(type) {
		case *wire.Welcome, *wire.ErrorFrame:
			return true
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if e, ok := f.(*wire.ErrorFrame); ok {
		return nil, newFrameError(e)
	}
	w := f.(*wire.Welcome)
	c.welcome.Store(w)
	return w, nil
}

// Welcome is the server's answer to hello; nil before it.
func (c *Conn) Welcome() *wire.Welcome { return c.welcome.Load() }

// readLoop reads and decodes frames until the connection ends, handing each
// to Next. It reads with the connection's own context because the library
// closes the socket when a read's context ends: a caller's deadline on Next
// must not cost the connection.
func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			c.err = c.readError(err)
			return
		}
		var r readResult
		if typ != websocket.MessageText {
			r.err = fmt.Errorf("the server sent a %v frame of %d bytes", typ, len(data))
		} else if r.frame, r.err = wire.Decode(data); r.err != nil {
			r.err = fmt.Errorf("failed to decode a server frame %.200q: %w", data, r.err)
		}
		select {
		case c.frames <- r:
		case <-c.ctx.Done():
			c.err = ErrClosed
			return
		}
	}
}

// readError says how the connection ended: ErrClosed after Close, the
// server's close frame as a *CloseError, or a *CloseError with code 1006
// when the link broke without one.
func (c *Conn) readError(err error) error {
	if c.closing.Load() {
		return ErrClosed
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: wire.CloseCode(ce.Code), Reason: ce.Reason, err: err}
	}
	return &CloseError{Code: wire.CloseAbnormal, Reason: "connection lost without a close frame", err: err}
}

// Next returns the next frame: first those a helper put aside, then the
// socket's. When the connection is over it returns the reason (see
// CloseStatus); when ctx ends first it returns ctx.Err() and the connection
// stays open.
func (c *Conn) Next(ctx context.Context) (wire.Frame, error) {
	c.mu.Lock()
	if len(c.pending) > 0 {
		f := c.pending[0]
		c.pending = c.pending[1:]
		c.mu.Unlock()
		return f, nil
	}
	c.mu.Unlock()
	return c.read(ctx)
}

// NextMatch returns the first frame, put aside or new, for which match is
// true. Frames read on the way are put aside, in order, for Next.
func (c *Conn) NextMatch(ctx context.Context, match func(wire.Frame) bool) (wire.Frame, error) {
	c.mu.Lock()
	for i, f := range c.pending {
		if match(f) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			c.mu.Unlock()
			return f, nil
		}
	}
	c.mu.Unlock()
	for {
		f, err := c.read(ctx)
		if err != nil {
			return nil, err
		}
		if match(f) {
			return f, nil
		}
		c.mu.Lock()
		c.pending = append(c.pending, f)
		c.mu.Unlock()
	}
}

func (c *Conn) read(ctx context.Context) (wire.Frame, error) {
	select {
	case r := <-c.frames:
		return r.frame, r.err
	case <-c.done:
		return nil, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Done is closed when the connection is over; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (see Next), or nil while it is open.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Write encodes and writes one frame.
func (c *Conn) Write(ctx context.Context, f wire.Frame) error {
	data, err := wire.Encode(f)
	if err != nil {
		return err
	}
	return c.WriteText(ctx, data)
}

// WriteText writes data as one text frame, as is: tests use it to send
// malformed frames.
func (c *Conn) WriteText(ctx context.Context, data []byte) error {
	return c.write(ctx, websocket.MessageText, data)
}

// WriteBinary writes data as one binary frame, which protocol v1 refuses.
func (c *Conn) WriteBinary(ctx context.Context, data []byte) error {
	return c.write(ctx, websocket.MessageBinary, data)
}

func (c *Conn) write(ctx context.Context, typ websocket.MessageType, data []byte) error {
	if err := c.ws.Write(ctx, typ, data); err != nil {
		// When the server closed the socket, its reason is worth more than
		// the write's error; the reader learns it within moments.
		if ce := c.closeReason(); ce != nil {
			return ce
		}
		return fmt.Errorf("failed to write a frame: %w", err)
	}
	return nil
}

// closeReason waits briefly for the reader to learn why the connection
// ended, and returns that reason if it is a *CloseError.
func (c *Conn) closeReason() error {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		return nil
	}
	var ce *CloseError
	if errors.As(c.err, &ce) {
		return ce
	}
	return nil
}

// Close ends the session with a normal close handshake. Reads then return
// ErrClosed.
func (c *Conn) Close() error {
	if !c.closing.CompareAndSwap(false, true) {
		return nil
	}
	var err error
	select {
	case <-c.done:
		// The link is over already: there is nobody to shake hands with.
		err = c.ws.CloseNow()
	default:
		err = c.ws.Close(websocket.StatusNormalClosure, "")
	}
	c.cancel()
	<-c.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// closeNow drops the socket without a handshake, after a failed hello.
func (c *Conn) closeNow() {
	c.closing.Store(true)
	c.ws.CloseNow()
	c.cancel()
	<-c.done
}
