package conntest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// Dialer is the server's conn.Dialer.
type Dialer struct{ s *Server }

var _ conn.Dialer = (*Dialer)(nil)

// Dial opens a socket unless the network is unplugged, WebSocket refused, or
// dials hang.
func (d *Dialer) Dial(ctx context.Context, events conn.SocketEvents) (conn.Socket, error) {
	s := d.s
	s.mu.Lock()
	s.dials++
	switch {
	case s.unplugged:
		s.mu.Unlock()
		return nil, ErrUnreachable
	case s.refuseWS != nil:
		err := s.refuseWS
		s.mu.Unlock()
		return nil, err
	case s.hangDial:
		w := s.newWaiter()
		s.mu.Unlock()
		s.park(ctx, w)
		return nil, ctx.Err()
	}
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.sessions++
	sock := &Socket{s: s, events: events, session: "session-" + strconv.Itoa(s.sessions), subs: map[string]bool{}}
	s.sockets = append(s.sockets, sock)
	return sock, nil
}

// Socket is one open fake WebSocket; its events run under the server's lock,
// one at a time and in order.
type Socket struct {
	s       *Server
	events  conn.SocketEvents
	session string
	hello   bool
	closed  bool
	dead    bool // a black hole: nothing goes either way, nothing closes
	subs    map[string]bool
}

var _ conn.Socket = (*Socket)(nil)

// Send hands a frame to the server, which answers at once.
func (c *Socket) Send(data []byte) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		return errors.New("the socket is closed")
	}
	if s.unplugged || c.dead {
		return nil // lost on the way
	}
	f, err := wire.Decode(data)
	if err != nil {
		c.emitLocked(&wire.ErrorFrame{Code: wire.CodeBadFrame, Message: err.Error()})
		return nil
	}
	s.received = append(s.received, f)
	c.serveLocked(f)
	return nil
}

// Close ends the socket from the client's side; OnClose follows at once.
func (c *Socket) Close(code wire.CloseCode, reason string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.closeLocked(code, reason)
	return nil
}

// Kill closes the socket from the server's side with code and reason.
func (c *Socket) Kill(code wire.CloseCode, reason string) {
	c.Close(code, reason)
}

// Blackhole makes this socket lose everything both ways without closing:
// the link died and nobody told the browser.
func (c *Socket) Blackhole() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.dead = true
}

// Inject sends any frame to the client, as the server would.
func (c *Socket) Inject(f wire.Frame) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.emitLocked(f)
}

// InjectRaw sends raw bytes as a text frame.
func (c *Socket) InjectRaw(data []byte) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if !c.closed && !c.s.unplugged && !c.dead {
		c.events.OnFrame(data)
	}
}

// Subscribed lists the rooms this socket receives.
func (c *Socket) Subscribed() []string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return slices.Sorted(maps.Keys(c.subs))
}

func (c *Socket) closeLocked(code wire.CloseCode, reason string) {
	if c.closed {
		return
	}
	c.closed = true
	c.s.sockets = slices.DeleteFunc(c.s.sockets, func(x *Socket) bool { return x == c })
	c.events.OnClose(code, reason)
}

func (c *Socket) emitLocked(f wire.Frame) {
	if c.closed || c.s.unplugged || c.dead {
		return
	}
	data, err := wire.Encode(f)
	if err != nil {
		panic(fmt.Sprintf("conntest: %v", err))
	}
	if c.s.latency > 0 {
		c.s.clock.AfterFunc(c.s.latency, func() {
			c.s.mu.Lock()
			defer c.s.mu.Unlock()
			if !c.closed && !c.s.unplugged && !c.dead {
				c.events.OnFrame(data)
			}
		})
		return
	}
	c.events.OnFrame(data)
}

func (c *Socket) serveLocked(f wire.Frame) {
	s := c.s
	if _, isHello := f.(*wire.Hello); !c.hello && !isHello {
		c.emitLocked(&wire.ErrorFrame{Code: wire.CodeHelloRequired, Message: "the first frame must be hello"})
		return
	}
	switch f := f.(type) {
	case *wire.Hello:
		if c.hello {
			c.emitLocked(&wire.ErrorFrame{Code: wire.CodeBadFrame, Message: "hello was already received"})
			return
		}
		if !s.tokenOK(f.Token) {
			c.closeLocked(wire.CloseUnauthorized, "invalid token")
			return
		}
		c.hello = true
		c.emitLocked(&wire.Welcome{Session: c.session, HeartbeatMS: 15000, ServerTime: s.clock.Now().UnixMilli(), User: s.user})
		for _, room := range slices.Sorted(maps.Keys(f.Resume)) {
			c.subscribeLocked(room, f.Resume[room])
		}
	case *wire.Subscribe:
		if len(s.subscribeErrors) > 0 {
			ef := *s.subscribeErrors[0]
			s.subscribeErrors = s.subscribeErrors[1:]
			ef.Ref = f.Room
			c.emitLocked(&ef)
			return
		}
		c.subscribeLocked(f.Room, f.Since)
	case *wire.Unsubscribe:
		delete(c.subs, f.Room)
	case *wire.Send:
		switch {
		case s.ignoreSend:
		case s.forbidden[f.Room]:
			c.emitLocked(&wire.ErrorFrame{Code: wire.CodeForbidden, Message: "you are not a participant of " + f.Room, Ref: f.Room})
		case len(s.sendErrors) > 0:
			ef := *s.sendErrors[0]
			s.sendErrors = s.sendErrors[1:]
			if ef.Ref == "" {
				ef.Ref = f.ClientID
			}
			c.emitLocked(&ef)
		default:
			msg, _ := s.appendLocked(f.Room, f.ClientID, f.Body, s.user)
			if !s.dropAcks {
				c.emitLocked(&wire.Ack{Room: msg.Room, ClientID: msg.ClientID, Seq: msg.Seq, SentAt: msg.SentAt})
			}
		}
	case *wire.Ping:
		if !s.mutePongs {
			c.emitLocked(&wire.Pong{ID: f.ID, ServerTime: s.clock.Now().UnixMilli()})
		}
	case *wire.Auth:
		// As the server: a token it takes moves the session's end (the fake
		// keeps no timer of it); another is refused, changing nothing.
		if !s.tokenOK(f.Token) {
			c.emitLocked(&wire.ErrorFrame{Code: wire.CodeUnauthorized, Message: "invalid token: the session stays as it was"})
			return
		}
		c.emitLocked(&wire.Authed{ExpiresAt: s.clock.Now().Add(time.Hour).UnixMilli()})
	}
}

func (c *Socket) subscribeLocked(room string, since int64) {
	s := c.s
	if s.forbidden[room] {
		c.emitLocked(&wire.ErrorFrame{Code: wire.CodeForbidden, Message: "you are not a participant of " + room, Ref: room})
		return
	}
	c.subs[room] = true
	r := s.roomLocked(room)
	var replay []wire.Message
	for _, msg := range r.msgs {
		if msg.Seq > since {
			replay = append(replay, msg)
		}
	}
	recovered := len(replay) <= wire.ReplayLimit
	if !recovered {
		replay = replay[:wire.ReplayLimit]
	}
	c.emitLocked(&wire.Subscribed{Room: room, Head: int64(len(r.msgs)), Recovered: recovered})
	for i := range replay {
		c.emitLocked(&replay[i])
	}
}
