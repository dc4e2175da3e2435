package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// The chat store is the original's PersistentChatProvider: between the
// connection service and the components, it keeps per room what the chat
// shows. The service delivers each seq once, in order, from the last seq it
// holds; the store adds what came before (history pages), the user's own
// messages that wait in the outbox, and who wrote what. Pages render its
// RoomView and RoomSummary values; they never see the service's callbacks.

// Backend is what the store needs of the connection service;
// *conn.Service is one, and tests may fake it.
type Backend interface {
	// Watch calls fn after each status change; fn must not block.
	Watch(fn func(conn.Status)) (stop func())
	// SubscribeAfter delivers the messages of room in seq order, once
	// each, through every reconnect; a room the service never saw starts
	// after seq after (the newest page the store read).
	SubscribeAfter(room string, after int64, onMessage func(wire.Message), onError func(error)) (unsubscribe func())
	// Send queues a message and returns its client id at once.
	Send(room, body string) (clientID string, err error)
	// Retry sends a failed message again.
	Retry(clientID string)
	// Discard drops a message from the outbox.
	Discard(clientID string)
	// WatchOutbox calls fn with the outbox after each change; fn must not
	// block.
	WatchOutbox(fn func([]conn.OutboxEntry)) (stop func())
	// History reads up to limit messages before seq before (0: the newest).
	History(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error)
}

var _ Backend = (*conn.Service)(nil)

// ErrStoreClosed is returned by Send after Close.
var ErrStoreClosed = errors.New("chat store closed")

// StoreOptions configure a Store.
type StoreOptions struct {
	// UserID is the user's id (the token's sub, see TokenUser): the
	// messages they sent are Mine, from whatever device.
	UserID string
	// UserName names the user on their own messages before the server
	// stored them.
	UserName string
	// PageSize is how many messages a history page reads; 0 means 50.
	PageSize int
	// Now stamps a message sent before the outbox reports it; nil means
	// time.Now.
	Now func() time.Time
}

// DefaultPageSize is the history page size of a Store.
const DefaultPageSize = 50

// Store is the chat model of the pages. It follows rooms (Join, or Watch),
// merges what the service delivers with history pages and the outbox, and
// tells watchers what changed. It is safe for concurrent use. Watchers are
// called on the store's own goroutine, one call at a time, never under its
// lock, so they may call the store.
type Store struct {
	backend Backend
	opts    StoreOptions

	ctx    context.Context // ends with Close: loads, the notifier
	cancel context.CancelFunc
	wg     sync.WaitGroup // the notifier and the loads
	wake   chan struct{}

	stopStatus, stopOutbox func()

	mu         sync.Mutex
	closed     bool
	rooms      map[string]*chatRoom
	outbox     []conn.OutboxEntry // the last outbox the service reported
	ownIDs     map[string]bool    // client ids of the user's messages
	discarded  map[string]bool    // client ids Discard dropped
	active     string             // the room on screen: read as it arrives
	connected  bool               // the last status was connected
	dirty      map[string]bool    // rooms whose watchers must hear
	inboxDirty bool               // inbox watchers must hear
	inbox      []*watcher[[]RoomSummary]
	loads      int           // history pages in flight, until what follows them is asked for
	pageSlots  chan struct{} // one token per page being read (maxPageLoads)
	delivering bool          // the notifier is calling watchers
	// arrivals counts the messages of others delivered live or replayed
	// (components.ArrivalSource); its watchers hear each change.
	arrivals      int
	wakes         int // the last conn.Status.Wakes seen
	wakesSeen     bool
	lastArrival   wire.Message
	arrivalsDirty bool
	arrivalWatch  []*watcher[int]
}

// NewStore returns a store on backend. Close releases it.
func NewStore(backend Backend, opts StoreOptions) *Store {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		backend:   backend,
		opts:      opts,
		ctx:       ctx,
		cancel:    cancel,
		wake:      make(chan struct{}, 1),
		rooms:     map[string]*chatRoom{},
		ownIDs:    map[string]bool{},
		discarded: map[string]bool{},
		dirty:     map[string]bool{},
		pageSlots: make(chan struct{}, maxPageLoads),
	}
	s.wg.Add(1)
	go s.notify()
	s.stopStatus = backend.Watch(s.onStatus)
	s.stopOutbox = backend.WatchOutbox(s.onOutbox)
	return s
}

// Join follows room: the store reads its newest history page, then
// subscribes after it, so a first visit shows the newest messages at once
// and older ones only when asked (LoadOlder). Joining a room twice does
// nothing.
func (s *Store) Join(room string) {
	s.mu.Lock()
	if s.closed || s.rooms[room] != nil {
		s.mu.Unlock()
		return
	}
	r := newChatRoom(s.ctx, room)
	s.rooms[room] = r
	s.changedLocked(room)
	if !wire.ValidRoom(room) {
		r.err = fmt.Errorf("failed to join %q: %w", room, conn.ErrInvalidRoom).Error()
		s.mu.Unlock()
		s.signal()
		return
	}
	s.applyOutboxLocked(r)
	s.loadLocked(r, func(after int64) { s.subscribe(r, after) })
	s.mu.Unlock()
	s.signal()
}

// subscribe starts r's subscription after seq after (0 when the first page
// could not be read: the service then replays the room from its start).
func (s *Store) subscribe(r *chatRoom, after int64) {
	// Outside the lock: a closed service calls onError at once.
	unsubscribe := s.backend.SubscribeAfter(r.name, after,
		func(msg wire.Message) { s.onMessage(r, msg) },
		func(err error) { s.onRoomError(r, err) })
	s.mu.Lock()
	if s.rooms[r.name] != r || s.closed {
		s.mu.Unlock()
		unsubscribe() // left or closed meanwhile
		return
	}
	r.unsubscribe = unsubscribe
	s.mu.Unlock()
}

// Leave stops following room: its subscription ends, a page being read is
// abandoned, its watchers hear no more and its messages are forgotten.
func (s *Store) Leave(room string) {
	s.mu.Lock()
	r := s.rooms[room]
	if r == nil {
		s.mu.Unlock()
		return
	}
	delete(s.rooms, room)
	delete(s.dirty, room)
	s.inboxDirty = true
	unsubscribe := r.unsubscribe
	s.mu.Unlock()
	r.cancel()
	if unsubscribe != nil {
		unsubscribe()
	}
	s.signal()
}

// Rooms lists the rooms followed, the most recently active first.
func (s *Store) Rooms() []RoomSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.summariesLocked()
}

// View returns room as its chat shows it now; a room not followed is empty.
func (s *Store) View(room string) RoomView {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[room]; r != nil {
		return s.viewLocked(r)
	}
	return RoomView{Room: room}
}

// Watch follows room (see Join) and calls fn with its view, then after each
// change, until stop is called or the room is left. fn runs on the store's
// goroutine and must not block: hand the view over (ctx.Dispatch) and
// return. Stopping does not leave the room.
func (s *Store) Watch(room string, fn func(RoomView)) (stop func()) {
	s.Join(room)
	w := &watcher[RoomView]{fn: fn}
	s.mu.Lock()
	r := s.rooms[room]
	if s.closed || r == nil {
		s.mu.Unlock()
		return func() {}
	}
	r.watchers = append(r.watchers, w)
	s.changedLocked(room)
	s.mu.Unlock()
	s.signal()
	return unwatch(s, w, func() *[]*watcher[RoomView] {
		if r := s.rooms[room]; r != nil {
			return &r.watchers
		}
		return nil
	})
}

// WatchRooms calls fn with the rooms followed (see Rooms), then after each
// change of any of them, until stop is called. fn runs on the store's
// goroutine and must not block.
func (s *Store) WatchRooms(fn func([]RoomSummary)) (stop func()) {
	w := &watcher[[]RoomSummary]{fn: fn}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return func() {}
	}
	s.inbox = append(s.inbox, w)
	s.inboxDirty = true
	s.mu.Unlock()
	s.signal()
	return unwatch(s, w, func() *[]*watcher[[]RoomSummary] { return &s.inbox })
}

// Send sends body to room through the service's outbox. The message shows
// at once as pending in a room followed, and as sent once its stored copy
// comes back.
func (s *Store) Send(room, body string) (clientID string, err error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return "", ErrStoreClosed
	}
	clientID, err = s.backend.Send(room, body)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.ownIDs[clientID] = true
	if r := s.rooms[room]; r != nil {
		// Writing in the room once the link is back is having read what
		// came in: no more marks. Writing offline reads nothing.
		cleared := r.newSet && s.connected
		if cleared {
			r.newSet = false
		}
		if r.addOwn(conn.OutboxEntry{ClientID: clientID, Room: room, Body: body, Created: s.opts.Now()}, false, s.discarded) || cleared {
			s.changedLocked(room)
		}
	}
	s.mu.Unlock()
	s.signal()
	return clientID, nil
}

// Retry sends a failed message again; it shows as pending once the outbox
// takes it back.
func (s *Store) Retry(clientID string) { s.backend.Retry(clientID) }

// Discard drops the user's message from the outbox and from the chat. A
// message already on its way may still be stored by the server, and then
// shows as sent.
func (s *Store) Discard(clientID string) {
	s.backend.Discard(clientID)
	s.mu.Lock()
	s.discarded[clientID] = true
	for name, r := range s.rooms {
		if r.dropOwn(clientID) {
			s.changedLocked(name)
		}
	}
	s.mu.Unlock()
	s.signal()
}

// LoadOlder reads the history page before the oldest message of room and
// merges it; the view says LoadingOlder meanwhile. It does nothing while a
// page is being read, once the first message is known, or for a room not
// followed.
func (s *Store) LoadOlder(room string) {
	s.mu.Lock()
	if r := s.rooms[room]; r != nil && !s.closed {
		s.loadLocked(r, nil)
	}
	s.mu.Unlock()
	s.signal()
}

// MarkRead marks every message of room read.
func (s *Store) MarkRead(room string) {
	s.mu.Lock()
	if r := s.rooms[room]; r != nil && r.markRead() {
		s.changedLocked(room)
	}
	s.mu.Unlock()
	s.signal()
}

// SetActive names the room on screen ("" for none): it is read now, and
// its messages are read as they arrive.
func (s *Store) SetActive(room string) {
	s.mu.Lock()
	s.active = room
	if r := s.rooms[room]; r != nil && r.markRead() {
		s.changedLocked(room)
	}
	s.mu.Unlock()
	s.signal()
}

// Close leaves every room and stops watching the service. No watcher is
// called once it returns, and no goroutine of the store is left. It must
// not be called from a watcher.
func (s *Store) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	var unsubscribes []func()
	for _, r := range s.rooms {
		if r.unsubscribe != nil {
			unsubscribes = append(unsubscribes, r.unsubscribe)
		}
	}
	s.rooms = map[string]*chatRoom{}
	s.inbox = nil
	s.mu.Unlock()
	s.cancel()
	for _, unsubscribe := range unsubscribes {
		unsubscribe()
	}
	s.stopStatus()
	s.stopOutbox()
	s.wg.Wait()
}

// onMessage runs on the service goroutine.
func (s *Store) onMessage(r *chatRoom, msg wire.Message) {
	s.mu.Lock()
	if s.rooms[r.name] != r {
		s.mu.Unlock()
		return
	}
	if r.merge([]wire.Message{msg}) {
		if s.active == r.name {
			r.markRead()
		}
		s.changedLocked(r.name)
		if !s.mine(msg) {
			r.arrived(msg.Seq, s.opts.Now())
			s.arrivals++
			s.lastArrival = msg
			s.arrivalsDirty = true
		}
	}
	s.mu.Unlock()
	s.signal()
}

// Arrivals counts the messages of others that reached the store live or
// replayed after an outage (history pages do not count).
func (s *Store) Arrivals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arrivals
}

// LastArrival is the last message of others counted by Arrivals; ok is
// false before the first.
func (s *Store) LastArrival() (msg wire.Message, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastArrival, s.arrivals > 0
}

// WatchArrivals calls fn with Arrivals after each change, on the store's
// goroutine, until stop is called.
func (s *Store) WatchArrivals(fn func(int)) (stop func()) {
	w := &watcher[int]{fn: fn}
	s.mu.Lock()
	s.arrivalWatch = append(s.arrivalWatch, w)
	s.mu.Unlock()
	return unwatch(s, w, func() *[]*watcher[int] { return &s.arrivalWatch })
}

// onRoomError runs on the service goroutine, or on Join's after the service
// closed.
func (s *Store) onRoomError(r *chatRoom, err error) {
	s.mu.Lock()
	if s.rooms[r.name] == r {
		if errors.Is(err, conn.ErrCancelled) {
			// Not a failure: the chat stays to read.
			r.cancelled = true
		} else {
			r.err = err.Error()
			r.forbidden = errors.Is(err, conn.ErrForbidden)
		}
		s.changedLocked(r.name)
	}
	s.mu.Unlock()
	s.signal()
}

// onOutbox runs on the service goroutine.
func (s *Store) onOutbox(entries []conn.OutboxEntry) {
	s.mu.Lock()
	s.outbox = entries
	for _, e := range entries {
		s.ownIDs[e.ClientID] = true
	}
	for name, r := range s.rooms {
		if s.applyOutboxLocked(r) {
			s.changedLocked(name)
		}
	}
	s.mu.Unlock()
	s.signal()
}

// onStatus runs on the service goroutine. A room whose first page could
// not be read (the page was opened offline) reads it when the connection
// comes back.
func (s *Store) onStatus(st conn.Status) {
	s.mu.Lock()
	back := st.IsConnected && !s.connected
	// The link lost, or the page back from a freeze or a sleep: what comes
	// in next was missed.
	lost := !st.IsConnected && s.connected
	woke := s.wakesSeen && st.Wakes != s.wakes
	s.connected = st.IsConnected
	s.wakes, s.wakesSeen = st.Wakes, true
	if lost || woke {
		now := s.opts.Now()
		for name, r := range s.rooms {
			if woke {
				r.markWake(now)
			} else {
				r.markOutage()
			}
			s.changedLocked(name)
		}
	}
	if back && !s.closed {
		for _, r := range s.rooms {
			if !r.pageRead {
				s.loadLocked(r, nil)
			}
		}
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Store) applyOutboxLocked(r *chatRoom) bool {
	return r.applyOutbox(s.outbox, s.discarded)
}

// loadLocked starts reading the page before the oldest message of r, unless
// one is being read or there is none. then, when set, runs after the page
// (read or not) with the newest seq it held, outside the lock.
func (s *Store) loadLocked(r *chatRoom, then func(newest int64)) {
	if r.loading || r.failed() || !r.hasOlder() {
		if then != nil {
			s.loads++
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				then(0)
				s.loadDone()
			}()
		}
		return
	}
	r.loading = true
	before := r.oldest()
	limit := s.opts.PageSize
	s.loads++
	s.changedLocked(r.name)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		msgs, err := s.readPage(r.ctx, r.name, before, limit)
		s.mu.Lock()
		if s.rooms[r.name] == r {
			r.pageDone(before, limit, msgs, err)
			if s.active == r.name {
				r.markRead()
			}
			s.changedLocked(r.name)
		}
		s.mu.Unlock()
		s.signal()
		if then != nil {
			var newest int64
			if err == nil && len(msgs) > 0 {
				newest = msgs[len(msgs)-1].Seq
			}
			then(newest)
		}
		s.loadDone()
	}()
}

// loadDone ends a load counted in loads, once what follows it (a
// subscription) has been asked for.
func (s *Store) loadDone() {
	s.mu.Lock()
	s.loads--
	s.mu.Unlock()
}

// maxPageLoads bounds the history pages a store reads at once. An inbox
// joins every room of the user, each with a page to read; the server serves
// a user few pages at a time (chat.Limits.MaxUserPages) and answers 429 past
// them.
const maxPageLoads = 2

// maxPageTries bounds the reads of one page the server answers 429 to.
const maxPageTries = 5

// readPage reads one history page once a slot is free, and again after
// Retry-After when the server says the user reads too much (429).
func (s *Store) readPage(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error) {
	select {
	case s.pageSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.pageSlots }()
	for try := 1; ; try++ {
		msgs, err := s.backend.History(ctx, room, before, limit)
		status, he := conn.StatusOf(err)
		if try == maxPageTries || status != http.StatusTooManyRequests { // status is 0 when err is nil
			return msgs, err
		}
		t := time.NewTimer(max(he.RetryAfter, time.Second))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

func (s *Store) viewLocked(r *chatRoom) RoomView {
	return r.view(s.mine, s.opts.UserName)
}

// mine reports whether msg is the user's: sent by their id, or by this
// device (its client id went through the outbox).
func (s *Store) mine(msg wire.Message) bool {
	return (s.opts.UserID != "" && msg.Sender.ID == s.opts.UserID) || (msg.ClientID != "" && s.ownIDs[msg.ClientID])
}

func (s *Store) summariesLocked() []RoomSummary {
	out := make([]RoomSummary, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, r.summary(s.mine))
	}
	slices.SortFunc(out, func(a, b RoomSummary) int {
		if c := b.LastActivity.Compare(a.LastActivity); c != 0 {
			return c
		}
		return strings.Compare(a.Room, b.Room)
	})
	return out
}
