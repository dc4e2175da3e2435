// Package tabs gives the tabs of one user and scope one connection between
// them. The tabs elect a leader (Web Locks in the browser); only the leader
// runs a conn.Service, with its socket and the live outbox. The others
// follow over a bus (a BroadcastChannel): they mirror the leader's status
// and outbox, get the messages of the rooms they show, and send, retry,
// discard and reconnect through it. When the leader's tab ends, the
// browser hands the lock to a waiting tab, which starts its own service at
// once and resumes every room from the last seq it showed.
//
// A Hub is what a tab's page uses in place of the service: the same
// methods, whichever role the tab has at the moment. Messages reach a
// subscriber in seq order and once each across a change of leader: a gap
// in the seqs (a message the old leader got but never passed on, or one
// sent before this tab asked for its room) is read over HTTP first.
//
// The package is pure Go: the bus and the election are ports, and the
// browser's are in conn/browser.
package tabs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// Bus carries frames between the tabs of one user and scope; a tab does not
// hear its own. Listen's fn may run on any goroutine and must not block.
type Bus interface {
	Post(data []byte) error
	Listen(fn func(data []byte)) (stop func())
}

// Elector elects one leader among the tabs. Campaign calls elected, on any
// goroutine, once this tab leads; resign gives the lead up, or stops
// waiting for it.
type Elector interface {
	Campaign(elected func()) (resign func())
}

// Config wires a Hub.
type Config struct {
	Bus     Bus
	Elector Elector
	// Start makes and starts this tab's service when it is elected, on env:
	// the page's own events, with the visibility of all the tabs (see
	// sharedEnv). A tab whose service cannot start gives the lead up.
	Start func(env conn.Environment) (*conn.Service, error)
	// History reads a page of a room's past over HTTP (conn.ReadHistory
	// with the tab's own token): a follower's older pages, and the gaps.
	History func(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error)
	// Logger gets the hub's log lines; none when nil.
	Logger *slog.Logger
	// GapRetry is how long a failed read of a gap waits before it is tried
	// again; one second when zero.
	GapRetry time.Duration
	// Clock stamps messages and times the retries of gaps;
	// conn.SystemClock when nil.
	Clock conn.Clock
	// Env is the page's: a leader's service runs on it (with the tabs'
	// visibility as one); a page about to be frozen (or put in the
	// back-forward cache) hands the lead over, and campaigns again when it
	// runs. nil: a page that is always visible and never frozen.
	Env conn.Environment
}

// frame is what goes over the bus.
type frame struct {
	T       string             `json:"t"`
	Tab     string             `json:"tab,omitempty"` // who says it
	Visible bool               `json:"visible,omitempty"`
	Room    string             `json:"room,omitempty"`
	After   int64              `json:"after,omitempty"`
	Seq     int64              `json:"seq,omitempty"`
	ID      string             `json:"id,omitempty"`
	Status  *conn.Status       `json:"status,omitempty"`
	Entries []conn.OutboxEntry `json:"entries,omitempty"`
	Entry   *conn.OutboxEntry  `json:"entry,omitempty"`
	Msg     *wire.Message      `json:"msg,omitempty"`
	// Forbidden says a room error is conn.ErrForbidden.
	Forbidden bool   `json:"forbidden,omitempty"`
	Err       string `json:"err,omitempty"`
}

// The frames: a follower's requests, and the leader's news.
const (
	frameHello     = "hello"     // a follower asks who leads
	frameSub       = "sub"       // a follower wants Room after After
	frameSend      = "send"      // a follower's message for the outbox
	frameRetry     = "retry"     // Retry(ID)
	frameDiscard   = "discard"   // Discard(ID)
	frameReconnect = "reconnect" // ForceReconnect
	frameLeader    = "leader"    // a tab leads now
	frameStatus    = "status"    // the leader's status
	frameOutbox    = "outbox"    // the leader's outbox (Entries)
	frameMsg       = "msg"       // a message of a room
	frameSeq       = "seq"       // the last seq of Room the leader passed on
	frameRoomErr   = "roomerr"   // Room failed for good
	frameHandover  = "handover"  // a leader about to stop: its outbox (Entries)
	frameVisible   = "visible"   // a follower's visibility (Visible)
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("the tab hub is closed")

// Hub is a tab's connection: its own service while it leads, the leader's
// through the bus while it follows. Its callbacks run on one goroutine of
// its own, in order; they must not block.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	// The queue of work for the hub's goroutine.
	qmu   sync.Mutex
	queue []func()
	wake  chan struct{}
	done  chan struct{}

	// Read from any goroutine.
	mu      sync.Mutex
	status  conn.Status
	outbox  []conn.OutboxEntry // what Outbox returns: the leader's, and ours on the way
	leading bool
	closed  bool
	// settled is closed once the tab knows who holds the connection: it
	// leads, or another tab answered as leader (see Settled).
	settled     chan struct{}
	settledOnce sync.Once

	// Owned by the hub's goroutine.
	svc            *conn.Service
	svcStops       []func()
	resign         func() // nil while the tab does not campaign
	env            *sharedEnv
	tick           conn.Timer
	stopBus        func()
	stopEnv        func()
	leaderOutbox   []conn.OutboxEntry
	pending        []conn.OutboxEntry // sent here, not yet in the leader's outbox
	statusWatchers []*watcher[conn.Status]
	outboxWatchers []*watcher[[]conn.OutboxEntry]
	subs           map[int]*sub
	nextSub        int
	relays         map[string]*relay
	idPrefix       string
	idSeq          int
}

type watcher[T any] struct {
	fn      func(T)
	stopped bool
}

// sub is a subscriber of a room, with the seq it got last.
type sub struct {
	room      string
	delivered int64
	onMessage func(wire.Message)
	onError   func(error)
	// While a gap is read, what comes in waits in held.
	filling bool
	held    []wire.Message
	gone    bool
}

// relay is the leader's one subscription of a room, which feeds its own
// subscribers and the bus.
type relay struct {
	unsub func()
	seq   int64
}

// New starts a hub: it asks who leads and campaigns to lead.
func New(cfg Config) *Hub {
	if cfg.GapRetry <= 0 {
		cfg.GapRetry = time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = conn.SystemClock{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg: cfg, log: log, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), done: make(chan struct{}), settled: make(chan struct{}),
		status:   conn.InitialStatus(),
		subs:     map[int]*sub{},
		relays:   map[string]*relay{},
		idPrefix: "t" + strconv.FormatInt(cfg.Clock.Now().UnixMilli(), 36) + "-" + strconv.FormatUint(rand.Uint64()>>32, 36),
		env:      newSharedEnv(cfg.Env),
	}
	go h.loop()
	h.do(func() {
		h.stopBus = cfg.Bus.Listen(func(data []byte) {
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				h.log.Warn(conn.LogPrefix+"Unreadable frame from another tab", "err", err)
				return
			}
			h.do(func() { h.onFrame(f) })
		})
		h.post(frame{T: frameHello})
		h.sayVisible()
		h.campaign()
		if cfg.Env != nil {
			h.stopEnv = cfg.Env.Watch(func(ev conn.EnvEvent) { h.do(func() { h.onEnv(ev) }) })
		}
		h.armTick()
	})
	return h
}

// armTick runs onTick every visibleEvery.
func (h *Hub) armTick() {
	h.tick = h.cfg.Clock.AfterFunc(visibleEvery, func() { h.do(h.onTick) })
}

// onTick keeps the tabs' visibility current: a visible follower says so
// again, and a leader forgets the followers it no longer hears.
func (h *Hub) onTick() {
	if h.isClosed() {
		return
	}
	if h.svc != nil {
		h.env.update(h.cfg.Clock.Now())
	} else {
		h.sayVisible()
	}
	h.armTick()
}

// sayVisible tells the leader whether this follower's page is visible.
func (h *Hub) sayVisible() {
	if h.svc == nil {
		h.post(frame{T: frameVisible, Visible: h.env.mineVisible()})
	}
}

// campaign asks to lead, unless this tab already does or asked.
func (h *Hub) campaign() {
	if h.resign == nil {
		h.resign = h.cfg.Elector.Campaign(func() { h.do(h.lead) })
	}
}

// onEnv follows the page's life: a page about to stop hands the connection
// over; one that runs again asks what it missed and campaigns again.
func (h *Hub) onEnv(ev conn.EnvEvent) {
	if h.isClosed() {
		return
	}
	h.env.page(ev, h.cfg.Clock.Now())
	switch ev {
	case conn.EnvVisible, conn.EnvHidden:
		h.sayVisible()
	case conn.EnvFreeze:
		h.stepDown()
	case conn.EnvResume, conn.EnvPageShow:
		if h.svc == nil {
			h.post(frame{T: frameHello})
			h.sayVisible()
			h.campaign()
		}
	}
}

// stepDown ends this tab's lead: what waits in its outbox goes to the
// other tabs, its service closes, and the lock goes to the next tab.
func (h *Hub) stepDown() {
	if h.svc == nil {
		return
	}
	h.log.Info(conn.LogPrefix + "This tab stops: handing the connection to another")
	entries := h.svc.Outbox()
	h.post(frame{T: frameHandover, Entries: entries})
	h.keepPending(entries)
	h.stopService()
	h.env.forget(h.cfg.Clock.Now())
	h.mu.Lock()
	h.leading = false
	h.mu.Unlock()
	if h.resign != nil {
		h.resign()
		h.resign = nil
	}
}

// stopService closes the service and forgets its subscriptions.
func (h *Hub) stopService() {
	for _, stop := range h.svcStops {
		stop()
	}
	h.svcStops = nil
	if h.svc != nil {
		h.svc.Close()
		h.svc = nil
	}
	h.relays = map[string]*relay{}
}

// keepPending adds entries to what this tab hands the next leader.
func (h *Hub) keepPending(entries []conn.OutboxEntry) {
	for _, e := range entries {
		if !slices.ContainsFunc(h.pending, func(p conn.OutboxEntry) bool { return p.ClientID == e.ClientID }) {
			h.pending = append(h.pending, e)
		}
	}
}

// do runs fn on the hub's goroutine, after what was queued before it.
func (h *Hub) do(fn func()) {
	h.qmu.Lock()
	h.queue = append(h.queue, fn)
	h.qmu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *Hub) loop() {
	defer close(h.done)
	for {
		h.qmu.Lock()
		batch := h.queue
		h.queue = nil
		h.qmu.Unlock()
		for _, fn := range batch {
			if fn == nil {
				return
			}
			fn()
		}
		if len(batch) == 0 {
			<-h.wake
		}
	}
}

// Leading reports whether this tab holds the connection.
func (h *Hub) Leading() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leading
}

// Settled is closed once this tab knows who holds the connection: it
// started the service itself (which is then dialling), or another tab
// answered as the leader. A page that waits for it, briefly, before its
// first render puts the connection's round trips ahead of that work.
func (h *Hub) Settled() <-chan struct{} { return h.settled }

func (h *Hub) settle() { h.settledOnce.Do(func() { close(h.settled) }) }

// lead starts this tab's service: the lock is ours.
func (h *Hub) lead() {
	if h.isClosed() || h.svc != nil {
		return
	}
	h.env.forget(h.cfg.Clock.Now())
	svc, err := h.cfg.Start(h.env)
	if err != nil {
		h.log.Error(conn.LogPrefix+"Failed to start the connection: another tab may", "err", err)
		h.resign()
		h.resign = nil
		return
	}
	h.log.Info(conn.LogPrefix + "This tab holds the connection for the others")
	h.svc = svc
	h.mu.Lock()
	h.leading = true
	h.mu.Unlock()
	// What was typed here, or handed to a leader that is gone, goes into
	// the outbox; the server's dedupe by client id keeps each once.
	svc.Adopt(h.pending)
	for room := range h.wantedRooms() {
		h.relay(room, h.lowest(room))
	}
	h.svcStops = append(h.svcStops,
		svc.Watch(func(st conn.Status) { h.do(func() { h.setStatus(st, true) }) }),
		svc.WatchOutbox(func(ob []conn.OutboxEntry) { h.do(func() { h.setLeaderOutbox(ob, true) }) }),
	)
	h.post(frame{T: frameLeader})
	h.settle()
}

// relay subscribes the leader's service to room once, for its own
// subscribers and the followers.
func (h *Hub) relay(room string, after int64) *relay {
	if r := h.relays[room]; r != nil {
		return r
	}
	r := &relay{seq: after}
	h.relays[room] = r
	r.unsub = h.svc.SubscribeAfter(room, after,
		func(m wire.Message) { h.do(func() { h.onRelayed(r, m) }) },
		func(err error) { h.do(func() { h.onRoomError(room, err, true) }) })
	return r
}

func (h *Hub) onRelayed(r *relay, m wire.Message) {
	if h.isClosed() {
		return
	}
	r.seq = max(r.seq, m.Seq)
	h.post(frame{T: frameMsg, Msg: &m})
	h.feed(m)
}

func (h *Hub) onRoomError(room string, err error, broadcast bool) {
	if broadcast {
		h.post(frame{T: frameRoomErr, Room: room, Forbidden: errors.Is(err, conn.ErrForbidden), Err: err.Error()})
	}
	for _, s := range h.subsOf(room) {
		if s.onError != nil {
			s.onError(err)
		}
	}
}

// onFrame handles what another tab said.
func (h *Hub) onFrame(f frame) {
	if h.isClosed() {
		return
	}
	if h.svc != nil {
		h.onRequest(f)
		return
	}
	switch f.T {
	case frameLeader, frameStatus:
		h.settle()
	}
	switch f.T {
	case frameLeader:
		// A new leader knows nothing of this tab: ask again for the rooms
		// shown here, and hand it what waits to go.
		for room := range h.wantedRooms() {
			h.post(frame{T: frameSub, Room: room, After: h.lowest(room)})
		}
		for i := range h.pending {
			h.post(frame{T: frameSend, Entry: &h.pending[i]})
		}
		h.sayVisible()
	case frameStatus:
		if f.Status != nil {
			h.setStatus(*f.Status, false)
		}
	case frameOutbox:
		h.setLeaderOutbox(f.Entries, false)
	case frameMsg:
		if f.Msg != nil {
			h.feed(*f.Msg)
		}
	case frameSeq:
		for _, s := range h.subsOf(f.Room) {
			if s.delivered < f.Seq && !s.filling {
				h.fill(s, f.Seq)
			}
		}
	case frameRoomErr:
		err := errors.New(f.Err)
		if f.Forbidden {
			err = fmt.Errorf("%s: %w", f.Err, conn.ErrForbidden)
		}
		h.onRoomError(f.Room, err, false)
	case frameHandover:
		// The leader stops: what it had yet to send is every tab's to hand
		// the next one (its server's dedupe keeps each message once).
		h.keepPending(f.Entries)
		h.publishOutbox()
	}
}

// onRequest is the leader's side of the bus.
func (h *Hub) onRequest(f frame) {
	switch f.T {
	case frameHello:
		h.post(frame{T: frameLeader})
		st := h.Status()
		h.post(frame{T: frameStatus, Status: &st})
		h.post(frame{T: frameOutbox, Entries: h.leaderOutbox})
	case frameSub:
		if wire.ValidRoom(f.Room) {
			r := h.relay(f.Room, f.After)
			h.post(frame{T: frameSeq, Room: f.Room, Seq: r.seq})
		}
	case frameSend:
		if f.Entry != nil {
			h.svc.Adopt([]conn.OutboxEntry{*f.Entry})
		}
	case frameHandover:
		// Elected before the stopping leader's last word came.
		h.svc.Adopt(f.Entries)
	case frameVisible:
		if f.Tab != "" {
			h.env.follower(f.Tab, f.Visible, h.cfg.Clock.Now())
		}
	case frameRetry:
		h.svc.Retry(f.ID)
	case frameDiscard:
		h.svc.Discard(f.ID)
	case frameReconnect:
		h.svc.ForceReconnect()
	}
}

func (h *Hub) post(f frame) {
	f.Tab = h.idPrefix // this tab's name: unique, as its client ids are
	data, err := json.Marshal(f)
	if err != nil {
		return
	}
	if err := h.cfg.Bus.Post(data); err != nil {
		h.log.Warn(conn.LogPrefix+"Failed to tell the other tabs", "frame", f.T, "err", err)
	}
}

func (h *Hub) setStatus(st conn.Status, broadcast bool) {
	h.mu.Lock()
	changed := h.status != st
	h.status = st
	h.mu.Unlock()
	if broadcast {
		h.post(frame{T: frameStatus, Status: &st})
	}
	if !changed {
		return
	}
	for _, w := range slices.Clone(h.statusWatchers) {
		if !w.stopped {
			w.fn(st)
		}
	}
}

// setLeaderOutbox takes the leader's outbox: a message of ours found in it
// is the leader's to send now.
func (h *Hub) setLeaderOutbox(ob []conn.OutboxEntry, broadcast bool) {
	h.leaderOutbox = ob
	if broadcast {
		h.post(frame{T: frameOutbox, Entries: ob})
	}
	h.pending = slices.DeleteFunc(h.pending, func(p conn.OutboxEntry) bool {
		return slices.ContainsFunc(ob, func(e conn.OutboxEntry) bool { return e.ClientID == p.ClientID })
	})
	h.publishOutbox()
}

func (h *Hub) publishOutbox() {
	merged := slices.Clone(h.leaderOutbox)
	merged = append(merged, h.pending...)
	h.mu.Lock()
	h.outbox = merged
	h.mu.Unlock()
	for _, w := range slices.Clone(h.outboxWatchers) {
		if !w.stopped {
			w.fn(slices.Clone(merged))
		}
	}
}

// feed gives a room's message to its subscribers.
func (h *Hub) feed(m wire.Message) {
	for _, s := range h.subsOf(m.Room) {
		h.push(s, m)
	}
	// A follower's own message that came back was stored: nothing waits
	// for it any more.
	if i := slices.IndexFunc(h.pending, func(p conn.OutboxEntry) bool { return p.ClientID == m.ClientID && p.Room == m.Room }); i >= 0 {
		h.pending = slices.Delete(h.pending, i, i+1)
		h.publishOutbox()
	}
}

// push delivers m to s in seq order: what is already delivered is dropped,
// and a gap before m is read first.
func (h *Hub) push(s *sub, m wire.Message) {
	switch {
	case s.gone:
	case s.filling:
		s.held = append(s.held, m)
	case m.Seq <= s.delivered:
	case m.Seq == s.delivered+1:
		s.delivered = m.Seq
		s.onMessage(m)
	default:
		s.held = append(s.held, m)
		h.fill(s, m.Seq-1)
	}
}

// fill reads the messages of s's room after what it got, up to seq, then
// delivers what waited meanwhile.
func (h *Hub) fill(s *sub, upTo int64) {
	s.filling = true
	from := s.delivered
	go func() {
		limit := int(min(upTo-from, wire.MaxPageLimit))
		msgs, err := h.cfg.History(h.ctx, s.room, min(upTo, from+int64(limit))+1, limit)
		h.do(func() { h.filled(s, upTo, msgs, err) })
	}()
}

func (h *Hub) filled(s *sub, upTo int64, msgs []wire.Message, err error) {
	if s.gone || h.isClosed() {
		return
	}
	if err != nil {
		h.log.Warn(conn.LogPrefix+"Failed to read the messages between tabs", "room", s.room, "err", err)
		if errors.Is(err, conn.ErrForbidden) {
			s.filling = false
			return
		}
		h.cfg.Clock.AfterFunc(h.cfg.GapRetry, func() {
			h.do(func() {
				if !s.gone && !h.isClosed() {
					h.fill(s, upTo)
				}
			})
		})
		return
	}
	progress := false
	for _, m := range msgs {
		if m.Seq == s.delivered+1 && m.Room == s.room {
			s.delivered = m.Seq
			s.onMessage(m)
			progress = true
		}
	}
	if s.delivered < upTo && progress {
		h.fill(s, upTo)
		return
	}
	// The rest is what came in meanwhile; a seq the server no longer has
	// is not waited for again.
	s.filling = false
	held := s.held
	s.held = nil
	slices.SortFunc(held, func(a, b wire.Message) int { return int(a.Seq - b.Seq) })
	if len(held) > 0 && held[0].Seq > s.delivered+1 {
		s.delivered = held[0].Seq - 1
	}
	for _, m := range held {
		h.push(s, m)
	}
}

func (h *Hub) subsOf(room string) []*sub {
	var out []*sub
	for _, id := range h.subIDs() {
		if s := h.subs[id]; s.room == room && !s.gone {
			out = append(out, s)
		}
	}
	return out
}

// subIDs are the subscriptions in the order they were made.
func (h *Hub) subIDs() []int {
	ids := make([]int, 0, len(h.subs))
	for id := range h.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (h *Hub) wantedRooms() map[string]bool {
	rooms := map[string]bool{}
	for _, s := range h.subs {
		rooms[s.room] = true
	}
	return rooms
}

// lowest is the last seq every subscriber of room got.
func (h *Hub) lowest(room string) int64 {
	low := int64(-1)
	for _, s := range h.subsOf(room) {
		if low < 0 || s.delivered < low {
			low = s.delivered
		}
	}
	return max(low, 0)
}

func (h *Hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// Status is the connection's status: this tab's, or the leader's.
func (h *Hub) Status() conn.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

// Watch calls fn with the status, then after each change, until stop.
func (h *Hub) Watch(fn func(conn.Status)) (stop func()) {
	return watch(h, &h.statusWatchers, fn, h.Status)
}

// Outbox lists the messages not acked yet: the leader's outbox, and what
// this tab handed it that it has not shown yet.
func (h *Hub) Outbox() []conn.OutboxEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.outbox)
}

// WatchOutbox calls fn with the outbox, then after each change, until stop.
func (h *Hub) WatchOutbox(fn func([]conn.OutboxEntry)) (stop func()) {
	return watch(h, &h.outboxWatchers, fn, h.Outbox)
}

// watch adds fn to *watchers and calls it with current(), on the hub's
// goroutine; the stop it returns removes it there.
func watch[T any](h *Hub, watchers *[]*watcher[T], fn func(T), current func() T) (stop func()) {
	w := &watcher[T]{fn: fn}
	h.do(func() {
		*watchers = append(*watchers, w)
		fn(current())
	})
	return func() {
		h.do(func() {
			w.stopped = true
			*watchers = slices.DeleteFunc(*watchers, func(x *watcher[T]) bool { return x == w })
		})
	}
}

// SubscribeAfter delivers room's messages after seq after, in order and
// once each, whichever tab holds the connection; see conn.Service.
func (h *Hub) SubscribeAfter(room string, after int64, onMessage func(wire.Message), onError func(error)) (unsubscribe func()) {
	s := &sub{room: room, delivered: max(after, 0), onMessage: onMessage, onError: onError}
	var id int
	h.do(func() {
		if h.isClosed() {
			if onError != nil {
				onError(conn.ErrClosed)
			}
			return
		}
		id = h.nextSub
		h.nextSub++
		h.subs[id] = s
		if h.svc != nil {
			r := h.relay(room, s.delivered)
			if r.seq > s.delivered {
				h.fill(s, r.seq)
			}
			return
		}
		h.post(frame{T: frameSub, Room: room, After: s.delivered})
	})
	return func() {
		h.do(func() {
			s.gone = true
			delete(h.subs, id)
		})
	}
}

// Send queues a message and returns its client id at once: into this tab's
// outbox while it leads, to the leader otherwise.
func (h *Hub) Send(room, body string) (clientID string, err error) {
	if h.isClosed() {
		return "", ErrClosed
	}
	if !wire.ValidRoom(room) {
		return "", fmt.Errorf("failed to send to %q: %w", room, conn.ErrInvalidRoom)
	}
	if err := wire.ValidateBody(body); err != nil {
		return "", fmt.Errorf("failed to send to %s: %w: %w", room, conn.ErrInvalidBody, err)
	}
	h.mu.Lock()
	h.idSeq++
	clientID = h.idPrefix + "-" + strconv.Itoa(h.idSeq)
	h.mu.Unlock()
	e := conn.OutboxEntry{ClientID: clientID, Room: room, Body: body, Created: h.cfg.Clock.Now()}
	h.do(func() {
		if h.svc != nil {
			h.svc.Adopt([]conn.OutboxEntry{e})
			return
		}
		h.pending = append(h.pending, e)
		h.publishOutbox()
		h.post(frame{T: frameSend, Entry: &e})
	})
	return clientID, nil
}

// Retry sends a failed message again.
func (h *Hub) Retry(clientID string) {
	h.do(func() {
		if h.svc != nil {
			h.svc.Retry(clientID)
			return
		}
		h.post(frame{T: frameRetry, ID: clientID})
	})
}

// Discard drops a message from the outbox.
func (h *Hub) Discard(clientID string) {
	h.do(func() {
		if h.svc != nil {
			h.svc.Discard(clientID)
			return
		}
		if i := slices.IndexFunc(h.pending, func(p conn.OutboxEntry) bool { return p.ClientID == clientID }); i >= 0 {
			h.pending = slices.Delete(h.pending, i, i+1)
			h.publishOutbox()
		}
		h.post(frame{T: frameDiscard, ID: clientID})
	})
}

// ForceReconnect reconnects now, in whichever tab holds the connection.
func (h *Hub) ForceReconnect() {
	h.do(func() {
		if h.svc != nil {
			h.svc.ForceReconnect()
			return
		}
		h.post(frame{T: frameReconnect})
	})
}

// History reads a page of room's past over this tab's own HTTP.
func (h *Hub) History(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error) {
	return h.cfg.History(ctx, room, before, limit)
}

// Close stops the hub: its service closes and the lead goes to another tab.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.done
		return
	}
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.do(func() {
		if h.svc == nil {
			// A follower that goes is no longer looked at.
			h.post(frame{T: frameVisible})
		}
		if h.tick != nil {
			h.tick.Stop()
		}
		h.stopService()
		if h.stopEnv != nil {
			h.stopEnv()
		}
		if h.stopBus != nil {
			h.stopBus()
		}
		if h.resign != nil {
			h.resign()
		}
	})
	h.do(nil)
	<-h.done
}
