//go:build !wasm

// Package chat is tether's chat backend: the hub that fans stored messages
// out to subscribers, the WebSocket endpoint of protocol v1 and the HTTP
// fallback (long-poll, history, post).
package chat

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/faults"
	"tether/server/metrics"
	"tether/server/store"
)

// Config tunes a Hub; zero values take the defaults.
type Config struct {
	// Heartbeat is announced in welcome: the client expects a frame at least
	// this often and pings to keep it so.
	Heartbeat time.Duration
	// HelloTimeout closes a socket that sends no hello in time (1008).
	HelloTimeout time.Duration
	// SendQueue is how many frames may wait for a slow reader before its
	// socket is closed (1008).
	SendQueue int
	// WriteTimeout closes a socket whose peer stops reading mid-frame,
	// and an HTTP connection whose peer takes no 32 KiB of an answer in
	// that time (see WriteTimeout on Hub).
	WriteTimeout time.Duration
	// SendRate and SendBurst limit the messages each user sends.
	SendRate  rate.Limit
	SendBurst int
	// MaxBadFrames is how many malformed frames a socket may send before
	// it is closed with 1007.
	MaxBadFrames int
	// DrainWindow is the window announced to clients on shutdown (4001):
	// they come back at a random moment within it.
	DrainWindow time.Duration
	// AllowedOrigins are extra Origin host patterns for WebSocket upgrades;
	// the server's own host is always allowed.
	AllowedOrigins []string

	// Limits is what one token holder, and everyone together, may cost
	// (see limits.go).
	Limits
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Heartbeat, 15*time.Second)
	def(&c.HelloTimeout, 10*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.DrainWindow, 5*time.Second)
	if c.SendQueue <= 0 {
		c.SendQueue = 1024
	}
	if c.SendRate <= 0 {
		c.SendRate = 10
	}
	if c.SendBurst <= 0 {
		c.SendBurst = 30
	}
	if c.MaxBadFrames <= 0 {
		c.MaxBadFrames = 10
	}
	c.Limits.setDefaults(c.Heartbeat)
}

// Hub joins the store, the sockets and the long-polls of one server.
type Hub struct {
	cfg     Config
	store   store.Store
	auth    *auth.Auth
	faults  *faults.Faults
	metrics *metrics.Metrics
	log     *slog.Logger

	mu       sync.Mutex
	rooms    map[string]*room
	conns    map[*wsConn]struct{}
	limiters map[string]*userLimiters
	counts   counts // sockets and long-polls, per user and in total
	swept    time.Time

	draining atomic.Bool
	drained  chan struct{} // closed when draining starts: long-polls return

	heldRefusals atomic.Int64 // refusals waiting in holdRefusal

	// bookingStore, when set (SetBookings), decides the rooms of session
	// tokens and which rooms are read-only; bookings remembers its answers.
	bookingStore store.Bookings
	bookings     bookingCache
}

// room is the live state of one room: its subscribers and a channel closed
// (and replaced) at each new message, which wakes its long-polls.
type room struct {
	subs  map[*subscription]struct{}
	wake  chan struct{}
	users int // subscribers and long-polls holding the room
}

// NewHub returns a hub. Hand its Publish to the store as the commit hook
// before the first Append.
func NewHub(cfg Config, st store.Store, a *auth.Auth, f *faults.Faults, m *metrics.Metrics, log *slog.Logger) *Hub {
	cfg.setDefaults()
	return &Hub{
		cfg: cfg, store: st, auth: a, faults: f, metrics: m, log: log,
		rooms:    map[string]*room{},
		conns:    map[*wsConn]struct{}{},
		limiters: map[string]*userLimiters{},
		counts:   newCounts(),
		drained:  make(chan struct{}),
	}
}

// SetStore sets the store when it is opened after the hub (the store takes
// the hub's Publish as its commit hook).
func (h *Hub) SetStore(st store.Store) { h.store = st }

// Publish hands committed messages to the subscribers of their rooms and
// wakes the room's long-polls. The store calls it one call at a time (from
// its writer goroutine, or its listener's for a PostgreSQL store), in seq
// order per room without a gap; it never blocks: a subscriber too slow to
// take a message is disconnected instead.
func (h *Hub) Publish(msgs []wire.Message) {
	h.metrics.MessagesStored.Add(float64(len(msgs)))
	h.fanOut(msgs)
}

// PublishFromPeer is Publish for messages that another node stored (nodes
// that share a PostgreSQL store): they reach the local subscribers the same
// way, but are not counted as stored here. The same rules hold: one call at
// a time, in seq order per room without a gap.
func (h *Hub) PublishFromPeer(msgs []wire.Message) { h.fanOut(msgs) }

func (h *Hub) fanOut(msgs []wire.Message) {
	for i := range msgs {
		m := &msgs[i]
		frame, err := wire.Encode(m)
		if err != nil {
			h.log.Error("failed to encode a message", "room", m.Room, "seq", m.Seq, "err", err)
			continue
		}
		h.mu.Lock()
		r := h.rooms[m.Room]
		var subs []*subscription
		if r != nil {
			subs = make([]*subscription, 0, len(r.subs))
			for s := range r.subs {
				subs = append(subs, s)
			}
			close(r.wake)
			r.wake = make(chan struct{})
		}
		h.mu.Unlock()
		for _, s := range subs {
			s.deliver(m, frame)
		}
	}
}

// acquire returns the room's live state, creating it; release gives it back.
func (h *Hub) acquire(name string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[name]
	if r == nil {
		r = &room{subs: map[*subscription]struct{}{}, wake: make(chan struct{})}
		h.rooms[name] = r
	}
	r.users++
	return r
}

func (h *Hub) release(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rooms[name]; r != nil {
		r.users--
		if r.users <= 0 {
			delete(h.rooms, name)
		}
	}
}

// waitChan returns the channel closed at the room's next message.
func (h *Hub) waitChan(r *room) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return r.wake
}

func (h *Hub) addSub(s *subscription) {
	r := h.acquire(s.room)
	h.mu.Lock()
	r.subs[s] = struct{}{}
	h.mu.Unlock()
}

func (h *Hub) removeSub(s *subscription) {
	h.mu.Lock()
	if r := h.rooms[s.room]; r != nil {
		delete(r.subs, s)
	}
	h.mu.Unlock()
	h.release(s.room)
}

// errDraining refuses work while the server shuts down.
var errDraining = errors.New("server is shutting down")

// appendMessage stores a message for sender. A repeat of a client_id by its
// own sender returns the first message; the store keys client_ids by
// sender, so the same client_id from anyone else is a message of their own.
func (h *Hub) appendMessage(ctx context.Context, sender wire.User, room, clientID, body string) (wire.Message, bool, error) {
	if h.draining.Load() {
		return wire.Message{}, false, errDraining
	}
	start := time.Now()
	msg, created, err := h.store.Append(ctx, store.NewMessage{
		Room: room, ID: newMessageID(), ClientID: clientID, Sender: sender, Body: body, SentAt: time.Now().UnixMilli(),
	})
	h.metrics.ObserveStore("append", start)
	if err != nil {
		return wire.Message{}, false, err
	}
	return msg, created, nil
}

// Drain starts the shutdown: every socket is closed with 4001 and the drain
// window, long-polls return, and new work is refused. It returns when every
// socket has been told or ctx ends.
func (h *Hub) Drain(ctx context.Context) {
	if !h.draining.CompareAndSwap(false, true) {
		return
	}
	close(h.drained)
	reason := wire.RetryAfter{RetryAfterMS: h.cfg.DrainWindow.Milliseconds()}.Reason()
	var wg sync.WaitGroup
	for _, c := range h.openSockets() {
		wg.Go(func() { c.close(wire.CloseDraining, reason) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// DropAll cuts every socket without a close frame (the "drop" fault).
func (h *Hub) DropAll() {
	for _, c := range h.openSockets() {
		c.drop()
	}
}

// CloseAll closes every socket with code and reason (the "close" fault).
func (h *Hub) CloseAll(code wire.CloseCode, reason string) {
	for _, c := range h.openSockets() {
		go c.close(code, reason)
	}
}

// openSockets is a copy of the sockets open now, to act on outside the
// hub's mu: ending a socket takes the mu to unregister it.
func (h *Hub) openSockets() []*wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	return conns
}

// CloseSessions closes, with 4403 and "revoked", the sockets of the
// sessions sids (auth.Claims.Sid) that the operator revoked.
func (h *Hub) CloseSessions(sids []string) {
	want := make(map[string]bool, len(sids))
	for _, s := range sids {
		if s != "" {
			want[s] = true
		}
	}
	for _, c := range h.openSockets() {
		if sid := c.sid.Load(); sid != nil && want[*sid] {
			go c.close(wire.CloseForbidden, "revoked")
		}
	}
}

// sockets is the number of WebSocket connections open now.
func (h *Hub) sockets() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// newMessageID is a message's id: 32 hex digits like every id here, the
// first 16 of them the time. The ids of new messages sort after the old
// ones, so the PostgreSQL store's unique index on them grows at its end
// rather than at a random page: one page fewer written per message. (The
// SQLite store has no index on them since its migration 5.)
func newMessageID() string {
	now := time.Now().UnixNano()
	for {
		// Never twice the same or an older time, even if the clock steps.
		last := lastMessageTime.Load()
		if now <= last {
			now = last + 1
		}
		if lastMessageTime.CompareAndSwap(last, now) {
			break
		}
		now = time.Now().UnixNano()
	}
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(now))
	rand.Read(b[8:])
	return hex.EncodeToString(b)
}

// lastMessageTime is the time in the last message id made.
var lastMessageTime atomic.Int64

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
