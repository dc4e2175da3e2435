//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hack-pad/safejs"

	"tether/conn"
	"tether/conn/wire"
)

// DefaultMaxBuffered is how much unsent data a socket may hold before Send
// refuses more: past it the link is too slow to keep up, and queuing more in
// the browser would only hide that.
const DefaultMaxBuffered = 1 << 20

// CloseEvent is how a WebSocket ended, as the browser reports it.
type CloseEvent struct {
	Code     wire.CloseCode
	Reason   string
	WasClean bool
}

// DialError is a WebSocket that closed before it opened: a refused upgrade,
// a network that is down, a server that is not there. Browsers hide the
// cause from pages on purpose; the close code is all there is (1006).
type DialError struct {
	URL   string
	Close CloseEvent
}

func (e *DialError) Error() string {
	return fmt.Sprintf("websocket %s closed before it opened (code %d)", e.URL, e.Close.Code)
}

// ErrBackpressure is returned by Send while the socket holds more unsent
// data than its limit.
var ErrBackpressure = errors.New("websocket send buffer full")

// Dialer opens WebSockets with the browser's WebSocket.
type Dialer struct {
	// URL is the WebSocket endpoint, ws(s)://host/api/ws.
	URL string
	// MaxBuffered bounds the socket's bufferedAmount; 0 is
	// DefaultMaxBuffered.
	MaxBuffered int
	// OnClose, when set, sees every close with WasClean, for logs and tests.
	OnClose func(CloseEvent)
}

var _ conn.Dialer = (*Dialer)(nil)

// Dial opens a socket and waits until it is open, closed or ctx ends.
func (d *Dialer) Dial(ctx context.Context, events conn.SocketEvents) (conn.Socket, error) {
	ctor, err := global("WebSocket")
	if err != nil {
		return nil, err
	}
	ws, err := ctor.New(d.URL, wire.Subprotocol)
	if err != nil {
		return nil, fmt.Errorf("failed to open a WebSocket to %s: %w", d.URL, err)
	}
	// Text frames only: a binary frame must not arrive as a Blob that
	// needs another promise to read.
	ws.Set("binaryType", "arraybuffer")

	max := d.MaxBuffered
	if max <= 0 {
		max = DefaultMaxBuffered
	}
	// The listeners live as long as the socket: sctx ends with the close
	// event, or when the dial is abandoned.
	sctx, cancel := context.WithCancel(context.Background())
	s := &socket{ws: ws, max: max, cancel: cancel}
	opened := make(chan struct{}, 1)
	closed := make(chan CloseEvent, 1)

	err = errors.Join(
		listen(sctx, ws, "open", func(safejs.Value) {
			s.mu.Lock()
			s.open = true
			s.mu.Unlock()
			opened <- struct{}{}
		}),
		listen(sctx, ws, "message", func(ev safejs.Value) {
			data, err := ev.Get("data")
			if err != nil {
				return
			}
			if data.Type() != safejs.TypeString {
				// Protocol v1 is text: a binary frame is a broken peer.
				ws.Call("close", int(wire.CloseNormal), "binary frames are not part of tether.v1")
				return
			}
			text, err := data.String()
			if err != nil {
				return
			}
			events.OnFrame([]byte(text))
		}),
		listen(sctx, ws, "close", func(ev safejs.Value) {
			code, _ := intProp(ev, "code")
			reason, _ := stringProp(ev, "reason")
			clean, _ := boolProp(ev, "wasClean")
			ce := CloseEvent{Code: wire.CloseCode(code), Reason: reason, WasClean: clean}
			if ce.Code == 0 {
				ce.Code = wire.CloseAbnormal
			}
			if d.OnClose != nil {
				d.OnClose(ce)
			}
			s.mu.Lock()
			wasOpen := s.open
			s.open, s.done = false, true
			s.mu.Unlock()
			cancel()
			if wasOpen {
				events.OnClose(ce.Code, ce.Reason)
			} else {
				closed <- ce
			}
		}),
	)
	if err != nil {
		ws.Call("close")
		cancel()
		return nil, err
	}

	select {
	case <-opened:
		return s, nil
	case ce := <-closed:
		return nil, &DialError{URL: d.URL, Close: ce}
	case <-ctx.Done():
		// Abandoned: closing a connecting socket makes the browser fail
		// it; the close event then ends the listeners, and they are ended
		// here too in case it never comes.
		ws.Call("close")
		cancel()
		return nil, ctx.Err()
	}
}

// wsOpen is WebSocket.OPEN, the readyState of a socket that sends.
const wsOpen = 1

// socket is one open browser WebSocket.
type socket struct {
	ws     safejs.Value
	max    int
	cancel context.CancelFunc

	mu   sync.Mutex
	open bool
	done bool
}

// Send writes one text frame, or fails when the socket is not open or its
// send buffer is over the limit.
func (s *socket) Send(data []byte) error {
	s.mu.Lock()
	open := s.open
	s.mu.Unlock()
	if !open {
		return errors.New("websocket is not open")
	}
	// The server may have begun the closing handshake (a drain's 4001)
	// before the close event arrives: the browser then drops what is sent
	// and logs an error, so the frame is refused here instead and the
	// outbox keeps it for the next socket.
	if state, err := intProp(s.ws, "readyState"); err != nil {
		return err
	} else if state != wsOpen {
		return errors.New("websocket is closing")
	}
	buffered, err := intProp(s.ws, "bufferedAmount")
	if err != nil {
		return err
	}
	if buffered+len(data) > s.max {
		return fmt.Errorf("%w: %d bytes waiting", ErrBackpressure, buffered)
	}
	if _, err := s.ws.Call("send", string(data)); err != nil {
		return fmt.Errorf("failed to send on the WebSocket: %w", err)
	}
	return nil
}

// Close starts the closing handshake. Browsers let a page send only 1000 or
// 3000-4999; any other code is sent as 1000 with the reason kept. The close
// event follows and reports the end through OnClose.
func (s *socket) Close(code wire.CloseCode, reason string) error {
	if code != wire.CloseNormal && (code < 3000 || code > 4999) {
		code = wire.CloseNormal
	}
	// A close reason is at most 123 bytes of UTF-8, or the browser throws.
	for len(reason) > 123 {
		r := []rune(reason)
		reason = string(r[:len(r)-1])
	}
	reason = strings.ToValidUTF8(reason, "")
	if _, err := s.ws.Call("close", int(code), reason); err != nil {
		return fmt.Errorf("failed to close the WebSocket: %w", err)
	}
	return nil
}
