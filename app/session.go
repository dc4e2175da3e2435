package app

import (
	"net/url"
	"sync"

	"tether/components"
	"tether/conn"
	"tether/conn/wire"
)

// Scope says which connection a page needs: the customer's booking room, or
// the therapist's inbox (Room ""). In dev mode As, Name and TTL come from
// ?as=customer|therapist&name=N&ttl=S and let the page fetch a dev token
// itself (TTL in seconds: short-lived tokens, to see them renewed).
type Scope struct {
	Room string
	As   string
	Name string
	TTL  string
}

// scopeOf reads a page's scope from its address.
func scopeOf(room string, q url.Values) Scope {
	return Scope{Room: room, As: q.Get("as"), Name: q.Get("name"), TTL: q.Get("ttl")}
}

// Session is the connection of one scope: the status for the indicator and
// the banner, the outbox, the chat store, and who the user is.
type Session struct {
	Status components.StatusSource
	Outbox components.OutboxSource
	Store  *Store
	User   wire.User
	// Rooms lists the rooms the user may see that have messages (the
	// therapist's inbox); nil where unsupported.
	Rooms RoomLister
	// Bookings reads the user's bookings (a session's, contract v2); nil
	// where there are none to read.
	Bookings BookingLister
	// Alerts are the background alerts of the session's page (DESIGN §7);
	// nil where the browser has none.
	Alerts components.AlertsSource
}

// arrivals is the session's count of others' messages, or nil without a
// store.
func (s *Session) arrivals() components.ArrivalSource {
	if s.Store == nil {
		return nil
	}
	return s.Store
}

// Connector opens sessions in the browser. The browser entry supplies one;
// on the server there is none, and pages show the status they were given.
type Connector interface {
	// Connect calls ready, on any goroutine, with the session of scope once
	// it is open, or with the error that prevents it (no token). The same
	// scope gets the same session.
	Connect(scope Scope, ready func(*Session, error))
}

// lateStatus is the status a page's components watch from the first render:
// the fixed, pre-rendered status until the page's session opens, then the
// session's. Components keep their one source, and their watchers move to
// the session's when it comes.
type lateStatus struct {
	mu       sync.Mutex
	src      components.StatusSource
	outbox   components.OutboxSource
	arrivals components.ArrivalSource
	watchers map[int]*lateWatcher
	next     int
}

type lateWatcher struct {
	status   func(conn.Status)
	outbox   func([]conn.OutboxEntry)
	arrivals func(int)
	stop     func()
}

var (
	_ components.StatusSource  = (*lateStatus)(nil)
	_ components.OutboxSource  = (*lateStatus)(nil)
	_ components.ArrivalSource = (*lateStatus)(nil)
)

func newLateStatus(initial components.StatusSource) *lateStatus {
	return &lateStatus{src: initial, watchers: map[int]*lateWatcher{}}
}

// Status returns the current source's status.
func (l *lateStatus) Status() conn.Status {
	l.mu.Lock()
	src := l.src
	l.mu.Unlock()
	return src.Status()
}

// ForceReconnect reconnects the session's service; before it opens there is
// nothing to reconnect.
func (l *lateStatus) ForceReconnect() {
	l.mu.Lock()
	src := l.src
	l.mu.Unlock()
	src.ForceReconnect()
}

// Watch follows the status through the switch to the session.
func (l *lateStatus) Watch(fn func(conn.Status)) (stop func()) {
	return l.add(&lateWatcher{status: fn})
}

// Outbox is the session's outbox; empty before it opens.
func (l *lateStatus) Outbox() []conn.OutboxEntry {
	l.mu.Lock()
	ob := l.outbox
	l.mu.Unlock()
	if ob == nil {
		return nil
	}
	return ob.Outbox()
}

// WatchOutbox follows the session's outbox once it opens.
func (l *lateStatus) WatchOutbox(fn func([]conn.OutboxEntry)) (stop func()) {
	return l.add(&lateWatcher{outbox: fn})
}

// Arrivals counts the others' messages of the session's store; 0 before
// it opens.
func (l *lateStatus) Arrivals() int {
	l.mu.Lock()
	a := l.arrivals
	l.mu.Unlock()
	if a == nil {
		return 0
	}
	return a.Arrivals()
}

// WatchArrivals follows the session's store once it opens.
func (l *lateStatus) WatchArrivals(fn func(int)) (stop func()) {
	return l.add(&lateWatcher{arrivals: fn})
}

func (l *lateStatus) add(w *lateWatcher) (stop func()) {
	l.mu.Lock()
	id := l.next
	l.next++
	l.watchers[id] = w
	l.attach(w)
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if w, ok := l.watchers[id]; ok {
			delete(l.watchers, id)
			if w.stop != nil {
				w.stop()
			}
		}
	}
}

// attach starts w on the current sources; l.mu is held. The sources call
// their watchers once at registration, outside any lock of theirs.
func (l *lateStatus) attach(w *lateWatcher) {
	switch {
	case w.status != nil:
		w.stop = l.src.Watch(w.status)
	case w.outbox != nil && l.outbox != nil:
		w.stop = l.outbox.WatchOutbox(w.outbox)
	case w.arrivals != nil && l.arrivals != nil:
		w.stop = l.arrivals.WatchArrivals(w.arrivals)
	default:
		w.stop = nil
	}
}

// set switches to the session's sources and tells every watcher.
func (l *lateStatus) set(src components.StatusSource, outbox components.OutboxSource, arrivals components.ArrivalSource) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.src, l.outbox, l.arrivals = src, outbox, arrivals
	for _, w := range l.watchers {
		if w.stop != nil {
			w.stop()
		}
		l.attach(w)
		if w.status != nil {
			w.status(src.Status())
		}
		if w.outbox != nil && outbox != nil {
			w.outbox(outbox.Outbox())
		}
		if w.arrivals != nil && arrivals != nil {
			w.arrivals(arrivals.Arrivals())
		}
	}
}
