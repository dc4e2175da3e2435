//go:build !wasm

package native

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/coder/websocket"

	"tether/conn/wire"
)

// CloseError says that the connection ended: with the server's close code
// and reason, or with wire.CloseAbnormal (1006) when it broke without a
// close frame. Use errors.As, or CloseStatus.
type CloseError struct {
	Code   wire.CloseCode
	Reason string
	err    error // the library's error, for errors.As and Unwrap
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("connection closed: %d (%s)", int(e.Code), e.Code)
	}
	return fmt.Sprintf("connection closed: %d (%s): %s", int(e.Code), e.Code, e.Reason)
}

// Unwrap is the library's error; for a close without a close frame it is
// the read error (EOF, reset), whose websocket.CloseStatus is -1.
func (e *CloseError) Unwrap() error { return e.err }

// RetryAfter reads the reason of 4001 and 4429: how long to wait.
func (e *CloseError) RetryAfter() (time.Duration, error) {
	r, err := wire.ParseRetryAfter(e.Reason)
	if err != nil {
		return 0, err
	}
	return time.Duration(r.RetryAfterMS) * time.Millisecond, nil
}

// CloseStatus is the close code of a connection's end: the code of a
// *CloseError in err's chain (1006 when no close frame came), else what
// websocket.CloseStatus says, which is -1 for nil and for errors that are
// not about a close.
func CloseStatus(err error) wire.CloseCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return wire.CloseCode(websocket.CloseStatus(err))
}

// FrameError is an error frame returned as an error by the helpers that
// wait for an answer (SendAndAck, SubscribeAndWait, Hello).
type FrameError struct {
	Code       string
	Message    string
	Ref        string
	RetryAfter time.Duration
}

func newFrameError(e *wire.ErrorFrame) *FrameError {
	return &FrameError{Code: e.Code, Message: e.Message, Ref: e.Ref, RetryAfter: time.Duration(e.RetryAfterMS) * time.Millisecond}
}

func (e *FrameError) Error() string {
	s := "server error " + e.Code + ": " + e.Message
	if e.Ref != "" {
		s += " (ref " + e.Ref + ")"
	}
	return s
}

// Subscribe writes a subscribe frame; the answer comes through Next.
func (c *Conn) Subscribe(ctx context.Context, room string, since int64) error {
	return c.Write(ctx, &wire.Subscribe{Room: room, Since: since})
}

// Unsubscribe writes an unsubscribe frame; the server does not answer it.
func (c *Conn) Unsubscribe(ctx context.Context, room string) error {
	return c.Write(ctx, &wire.Unsubscribe{Room: room})
}

// Send writes a send frame; the ack or error comes through Next.
func (c *Conn) Send(ctx context.Context, room, clientID, body string) error {
	return c.Write(ctx, &wire.Send{Room: room, ClientID: clientID, Body: body})
}

// Ping writes a ping frame; the pong comes through Next.
func (c *Conn) Ping(ctx context.Context, id int64) error {
	return c.Write(ctx, &wire.Ping{ID: id})
}

// SendAndAck sends a message and waits for its ack. An error frame about it
// (ref clientID, or ref room for forbidden) is returned as a *FrameError.
// Other frames stay, in order, for Next.
func (c *Conn) SendAndAck(ctx context.Context, room, clientID, body string) (*wire.Ack, error) {
	if err := c.Send(ctx, room, clientID, body); err != nil {
		return nil, err
	}
	return awaitAnswer(ctx, c, func(a *wire.Ack) bool { return a.Room == room && a.ClientID == clientID }, clientID, room)
}

// SubscribeAndWait subscribes and waits for the subscribed frame. An error
// frame about the room is returned as a *FrameError. The replay follows the
// subscribed frame: read it with Next or NextMessages.
func (c *Conn) SubscribeAndWait(ctx context.Context, room string, since int64) (*wire.Subscribed, error) {
	if err := c.Subscribe(ctx, room, since); err != nil {
		return nil, err
	}
	return awaitAnswer(ctx, c, func(s *wire.Subscribed) bool { return s.Room == room }, room)
}

// awaitAnswer waits for the frame of type T that is accepts, or for an
// error frame whose ref is one of refs, returned as a *FrameError. Other
// frames stay, in order, for Next.
func awaitAnswer[T wire.Frame](ctx context.Context, c *Conn, is func(T) bool, refs ...string) (T, error) {
	var zero T
	f, err := c.NextMatch(ctx, func(f wire.Frame) bool {
		switch f := f.(type) {
		case T:
			return is(f)
		case *wire.ErrorFrame:
			return slices.Contains(refs, f.Ref)
		}
		return false
	})
	if err != nil {
		return zero, err
	}
	if e, ok := f.(*wire.ErrorFrame); ok {
		return zero, newFrameError(e)
	}
	return f.(T), nil
}

// PingPong pings and waits for the pong with the same id.
func (c *Conn) PingPong(ctx context.Context, id int64) (*wire.Pong, error) {
	if err := c.Ping(ctx, id); err != nil {
		return nil, err
	}
	f, err := c.NextMatch(ctx, func(f wire.Frame) bool {
		p, ok := f.(*wire.Pong)
		return ok && p.ID == id
	})
	if err != nil {
		return nil, err
	}
	return f.(*wire.Pong), nil
}

// NextMessages returns the next n messages of room, in the order they came.
// Other frames stay for Next.
func (c *Conn) NextMessages(ctx context.Context, room string, n int) ([]wire.Message, error) {
	msgs := make([]wire.Message, 0, n)
	for len(msgs) < n {
		f, err := c.NextMatch(ctx, func(f wire.Frame) bool {
			m, ok := f.(*wire.Message)
			return ok && m.Room == room
		})
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, *f.(*wire.Message))
	}
	return msgs, nil
}
