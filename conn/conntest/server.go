package conntest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// ErrUnreachable is what the network answers while unplugged.
var ErrUnreachable = errors.New("network unreachable")

// Server is an in-memory tether backend speaking protocol v1: rooms with
// seqs, idempotent sends, resume and replay (with the replay limit), long
// polls, pings. Its Dialer and HTTP are the ports the service uses; its
// knobs make it misbehave the ways the real world does.
type Server struct {
	mu    sync.Mutex
	clock conn.Clock

	rooms     map[string]*serverRoom
	user      wire.User
	tokens    map[string]bool // nil: any non-empty token
	forbidden map[string]bool

	unplugged  bool
	refuseWS   error
	hangDial   bool
	hangHTTP   bool
	mutePongs  bool
	dropAcks   bool
	ignoreSend bool
	noLongPoll bool
	latency    time.Duration
	sendErrors []*wire.ErrorFrame
	// subscribeErrors answer the next subscribes instead of subscribing.
	subscribeErrors []*wire.ErrorFrame
	httpErrors      map[string][]error

	sockets  []*Socket
	sessions int
	waiters  map[*waiter]struct{}
	blocked  atomic.Int64

	dials, pings, polls, posts, histories int
	received                              []wire.Frame
}

type serverRoom struct {
	msgs     []wire.Message
	byClient map[string]wire.Message
}

// waiter is a call parked in a fake. It counts in Blocked from the moment
// it is made until the moment it is woken: the waker uncounts it, not the
// woken goroutine, so a test never sees a woken call as still parked.
type waiter struct {
	s    *Server
	ch   chan struct{}
	once sync.Once
}

// newWaiter makes a waiter and counts it as parked. Whatever must exist
// for it to be woken (a timer, a place in waiters) is set up by wakeups
// first, so a test never sees it parked before it can be woken.
func (s *Server) newWaiter(wakeups ...func(*waiter)) *waiter {
	w := &waiter{s: s, ch: make(chan struct{})}
	for _, setup := range wakeups {
		setup(w)
	}
	s.blocked.Add(1)
	return w
}

func (w *waiter) wake() {
	w.once.Do(func() {
		w.s.blocked.Add(-1)
		close(w.ch)
	})
}

// Them is the other participant, the sender of Publish.
var Them = wire.User{ID: "taylor", Name: "Taylor", Role: wire.RoleTherapist}

// Me is the user of the service's token.
var Me = wire.User{ID: "casey", Name: "Casey", Role: wire.RoleCustomer}

// NewServer returns a server on clock (for sent_at and long-poll waits)
// that accepts any non-empty token as Me.
func NewServer(clock conn.Clock) *Server {
	return &Server{
		clock:      clock,
		rooms:      map[string]*serverRoom{},
		user:       Me,
		forbidden:  map[string]bool{},
		httpErrors: map[string][]error{},
		waiters:    map[*waiter]struct{}{},
	}
}

// Dialer is the server's WebSocket endpoint.
func (s *Server) Dialer() *Dialer { return &Dialer{s: s} }

// HTTP is the server's HTTP API.
func (s *Server) HTTP() *HTTP { return &HTTP{s: s} }

// Blocked is how many calls wait inside the fakes (long polls, dials and
// requests into a black hole). A test settles when every goroutine of the
// service is one of these.
func (s *Server) Blocked() int64 { return s.blocked.Load() }

// AcceptTokens limits the tokens the server takes; the others get 4401 or
// 401.
func (s *Server) AcceptTokens(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]bool{}
	for _, t := range tokens {
		s.tokens[t] = true
	}
}

// Forbid makes room off limits: subscribe and send answer forbidden, HTTP
// answers 403.
func (s *Server) Forbid(room string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden[room] = true
}

// Unplug cuts the network as a browser sees it: dials and HTTP fail at
// once, and open sockets go silent both ways without closing.
func (s *Server) Unplug() { setGuarded(&s.mu, &s.unplugged, true) }

// Plug brings the network back (silent sockets stay silent: the server
// forgot them).
func (s *Server) Plug() { setGuarded(&s.mu, &s.unplugged, false) }

// RefuseWebSocket makes dials fail with err (nil: accept again), as a proxy
// that blocks WebSocket does; HTTP goes on.
func (s *Server) RefuseWebSocket(err error) { setGuarded(&s.mu, &s.refuseWS, err) }

// HangDial makes dials wait until their context ends: a black hole.
func (s *Server) HangDial(on bool) { setGuarded(&s.mu, &s.hangDial, on) }

// HangHTTP makes every HTTP call wait until its context ends.
func (s *Server) HangHTTP(on bool) { setGuarded(&s.mu, &s.hangHTTP, on) }

// MutePongs stops answering pings: a half-open link.
func (s *Server) MutePongs(on bool) { setGuarded(&s.mu, &s.mutePongs, on) }

// DropAcks stores sends but never acks them (the message still fans out).
func (s *Server) DropAcks(on bool) { setGuarded(&s.mu, &s.dropAcks, on) }

// IgnoreSends drops send frames without storing or answering them.
func (s *Server) IgnoreSends(on bool) { setGuarded(&s.mu, &s.ignoreSend, on) }

// DisableLongPoll answers every poll at once, ignoring wait.
func (s *Server) DisableLongPoll(on bool) { setGuarded(&s.mu, &s.noLongPoll, on) }

// AnswerSends answers the next sends with these error frames instead of
// storing them (Ref defaults to the send's client_id).
func (s *Server) AnswerSends(frames ...*wire.ErrorFrame) {
	appendGuarded(&s.mu, &s.sendErrors, frames...)
}

// AnswerSubscribes answers the next subscribes with these error frames
// (Ref set to the room) instead of subscribing.
func (s *Server) AnswerSubscribes(frames ...*wire.ErrorFrame) {
	appendGuarded(&s.mu, &s.subscribeErrors, frames...)
}

// FailHTTP makes the next calls of op ("ping", "messages", "history" or
// "post") fail with errs, one each.
func (s *Server) FailHTTP(op string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.httpErrors[op] = append(s.httpErrors[op], errs...)
}

// Latency delays every frame the server sends by d (on the fake clock), so a
// ping's round trip grows by d, like the real server's latency fault.
func (s *Server) Latency(d time.Duration) { setGuarded(&s.mu, &s.latency, d) }

// Publish stores a message of Them in room and fans it out.
func (s *Server) Publish(room, body string) wire.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, _ := s.appendLocked(room, "", body, Them)
	return msg
}

// Seed stores n messages of Them in room without fanning them out, as if
// they arrived while nobody listened.
func (s *Server) Seed(room string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roomLocked(room)
	for range n {
		seq := int64(len(r.msgs) + 1)
		r.msgs = append(r.msgs, wire.Message{Room: room, Seq: seq, ID: room + "-" + strconv.FormatInt(seq, 10), Sender: Them, Body: "seeded " + strconv.FormatInt(seq, 10), SentAt: s.clock.Now().UnixMilli()})
	}
}

// Messages returns what room holds.
func (s *Server) Messages(room string) []wire.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.roomLocked(room).msgs)
}

// Break closes every open socket with code and reason.
func (s *Server) Break(code wire.CloseCode, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sock := range s.sockets {
		sock.closeLocked(code, reason)
	}
	s.sockets = nil
}

// Sockets returns the sockets still open.
func (s *Server) Sockets() []*Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sockets)
}

// Received returns every frame the server read, of the given types (all
// when none are named).
func (s *Server) Received(types ...string) []wire.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []wire.Frame
	for _, f := range s.received {
		if len(types) == 0 || slices.Contains(types, f.FrameType()) {
			out = append(out, f)
		}
	}
	return out
}

// Stats counts what the server was asked.
type Stats struct {
	Dials, Pings, Polls, Posts, Histories int
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Dials: s.dials, Pings: s.pings, Polls: s.polls, Posts: s.posts, Histories: s.histories}
}

func (s *Server) roomLocked(name string) *serverRoom {
	r := s.rooms[name]
	if r == nil {
		r = &serverRoom{byClient: map[string]wire.Message{}}
		s.rooms[name] = r
	}
	return r
}

// appendLocked stores a message once per client_id and fans it out.
func (s *Server) appendLocked(room, clientID, body string, sender wire.User) (wire.Message, bool) {
	r := s.roomLocked(room)
	if clientID != "" {
		if msg, ok := r.byClient[clientID]; ok {
			return msg, false
		}
	}
	seq := int64(len(r.msgs) + 1)
	msg := wire.Message{Room: room, Seq: seq, ID: room + "-" + strconv.FormatInt(seq, 10), ClientID: clientID, Sender: sender, Body: body, SentAt: s.clock.Now().UnixMilli()}
	r.msgs = append(r.msgs, msg)
	if clientID != "" {
		r.byClient[clientID] = msg
	}
	for _, sock := range s.sockets {
		if sock.subs[room] {
			sock.emitLocked(&msg)
		}
	}
	for w := range s.waiters {
		w.wake()
	}
	return msg, true
}

func (s *Server) tokenOK(token string) bool {
	if s.tokens == nil {
		return token != ""
	}
	return s.tokens[token]
}

func (s *Server) httpFaultLocked(op string) error {
	if s.unplugged {
		return ErrUnreachable
	}
	if errs := s.httpErrors[op]; len(errs) > 0 {
		s.httpErrors[op] = errs[1:]
		return errs[0]
	}
	return nil
}

// park waits until ctx ends or w wakes.
func (s *Server) park(ctx context.Context, w *waiter) {
	select {
	case <-ctx.Done():
	case <-w.ch:
	}
	w.wake()
}
