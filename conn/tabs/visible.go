package tabs

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tether/conn"
)

// The leader's service paces its heartbeat by visibility: a hidden page
// pings slowly. With the connection shared, the page the user looks at may
// be a follower while the leader sits in a background tab: the service
// must then keep the visible pace, or that page would show a dead link as
// connected for half a minute. So the leader's service sees the tabs'
// visibility as one: visible while any tab is. Followers say when theirs
// changes, and while visible say so again every visibleEvery; one not
// heard from within visibleFor (a tab closed without a word) counts as
// hidden.
const (
	visibleEvery = 20 * time.Second
	visibleFor   = 50 * time.Second
)

// sharedEnv is the Environment the leader's service runs on: the page's own
// events, with visibility that of all the tabs. It is safe for concurrent
// use; the hub's goroutine feeds it.
type sharedEnv struct {
	own conn.Environment // nil: a page that is always visible

	mu       sync.Mutex
	mine     bool                 // this page is visible
	others   map[string]time.Time // follower → until when it counts as visible
	shown    bool                 // what the watchers last heard
	watchers []*envWatcher
}

type envWatcher struct {
	fn      func(conn.EnvEvent)
	stopped atomic.Bool
}

var _ conn.Environment = (*sharedEnv)(nil)

func newSharedEnv(own conn.Environment) *sharedEnv {
	e := &sharedEnv{own: own, mine: own == nil || own.Visible(), others: map[string]time.Time{}}
	e.shown = e.mine
	return e
}

// Online is the page's own view of the network.
func (e *sharedEnv) Online() bool { return e.own == nil || e.own.Online() }

// Visible reports whether any tab is visible.
func (e *sharedEnv) Visible() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.shown
}

// Watch calls fn with the page's events other than its visibility, and
// with EnvVisible and EnvHidden when the tabs' visibility as one changes.
func (e *sharedEnv) Watch(fn func(conn.EnvEvent)) (stop func()) {
	w := &envWatcher{fn: fn}
	e.mu.Lock()
	e.watchers = append(e.watchers, w)
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		w.stopped.Store(true)
		e.watchers = slices.DeleteFunc(e.watchers, func(x *envWatcher) bool { return x == w })
	}
}

// mineVisible reports whether this page is visible.
func (e *sharedEnv) mineVisible() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mine
}

// page takes one of the page's own events.
func (e *sharedEnv) page(ev conn.EnvEvent, now time.Time) {
	switch ev {
	case conn.EnvVisible, conn.EnvHidden:
		e.mu.Lock()
		e.mine = ev == conn.EnvVisible
		e.mu.Unlock()
		e.update(now)
	default:
		e.emit(ev)
	}
}

// forget drops what the followers said: a tab that starts or stops leading
// hears it anew.
func (e *sharedEnv) forget(now time.Time) {
	e.mu.Lock()
	clear(e.others)
	e.mu.Unlock()
	e.update(now)
}

// follower records what a follower said of its visibility.
func (e *sharedEnv) follower(tab string, visible bool, now time.Time) {
	e.mu.Lock()
	if visible {
		e.others[tab] = now.Add(visibleFor)
	} else {
		delete(e.others, tab)
	}
	e.mu.Unlock()
	e.update(now)
}

// update forgets the followers not heard from in time and tells the
// watchers when the visibility of all the tabs changed.
func (e *sharedEnv) update(now time.Time) {
	e.mu.Lock()
	shown := e.mine
	for tab, until := range e.others {
		if now.After(until) {
			delete(e.others, tab)
			continue
		}
		shown = true
	}
	changed := shown != e.shown
	e.shown = shown
	e.mu.Unlock()
	if !changed {
		return
	}
	if shown {
		e.emit(conn.EnvVisible)
	} else {
		e.emit(conn.EnvHidden)
	}
}

func (e *sharedEnv) emit(ev conn.EnvEvent) {
	e.mu.Lock()
	ws := slices.Clone(e.watchers)
	e.mu.Unlock()
	for _, w := range ws {
		if !w.stopped.Load() {
			w.fn(ev)
		}
	}
}
