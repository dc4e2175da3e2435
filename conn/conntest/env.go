package conntest

import (
	"sync"

	"tether/conn"
)

// Env is a browser environment you fire events on.
type Env struct {
	mu       sync.Mutex
	online   bool
	visible  bool
	watchers watchers[func(conn.EnvEvent)]
}

var _ conn.Environment = (*Env)(nil)

// NewEnv returns an environment that is online and visible.
func NewEnv() *Env {
	return &Env{online: true, visible: true}
}

// SetStart sets what Online and Visible report, before New reads them.
func (e *Env) SetStart(online, visible bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.online, e.visible = online, visible
}

// Online reports the network as the browser sees it.
func (e *Env) Online() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.online
}

// Visible reports whether the page is visible.
func (e *Env) Visible() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.visible
}

// Watch calls fn for each fired event until stop.
func (e *Env) Watch(fn func(conn.EnvEvent)) (stop func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.watchers.add(&e.mu, fn)
}

// Watchers is how many watchers are registered (zero after the service
// closed).
func (e *Env) Watchers() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.watchers.len()
}

// Fire reports ev to every watcher, on the caller's goroutine.
func (e *Env) Fire(ev conn.EnvEvent) {
	e.mu.Lock()
	switch ev {
	case conn.EnvOnline:
		e.online = true
	case conn.EnvOffline:
		e.online = false
	case conn.EnvVisible, conn.EnvPageShow:
		e.visible = true
	case conn.EnvHidden:
		e.visible = false
	}
	fns := e.watchers.list()
	e.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}
