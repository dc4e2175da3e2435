package conntest

import (
	"slices"
	"sync"

	"tether/conn"
)

// StatusSource is what a page reads of the service, its status and its
// outbox, with the methods conn.Service has for them, changed only by the
// test. It is the components' StatusSource and OutboxSource; their tests
// check that, as conntest does not import components.
type StatusSource struct {
	mu             sync.Mutex
	status         conn.Status
	outbox         []conn.OutboxEntry
	watchers       watchers[func(conn.Status)]
	outboxWatchers watchers[func([]conn.OutboxEntry)]
	forced         int
}

// NewStatusSource returns a source with status s and outbox entries.
func NewStatusSource(s conn.Status, outbox ...conn.OutboxEntry) *StatusSource {
	return &StatusSource{status: s, outbox: outbox}
}

// Status returns the current status.
func (f *StatusSource) Status() conn.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// Watch calls fn, on the goroutine of SetStatus, after each change until
// stop is called.
func (f *StatusSource) Watch(fn func(conn.Status)) (stop func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watchers.add(&f.mu, fn)
}

// ForceReconnect is counted (ForcedReconnects).
func (f *StatusSource) ForceReconnect() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forced++
}

// Outbox returns a copy of the outbox.
func (f *StatusSource) Outbox() []conn.OutboxEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.outbox)
}

// WatchOutbox calls fn, on the goroutine of SetOutbox, after each change
// until stop is called.
func (f *StatusSource) WatchOutbox(fn func([]conn.OutboxEntry)) (stop func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outboxWatchers.add(&f.mu, fn)
}

// SetStatus changes the status and tells every watcher, outside the lock
// so that a watcher may read the source.
func (f *StatusSource) SetStatus(s conn.Status) {
	f.mu.Lock()
	f.status = s
	fns := f.watchers.list()
	f.mu.Unlock()
	for _, fn := range fns {
		fn(s)
	}
}

// SetOutbox changes the outbox and tells every outbox watcher, each with
// its own copy.
func (f *StatusSource) SetOutbox(entries ...conn.OutboxEntry) {
	f.mu.Lock()
	f.outbox = entries
	fns := f.outboxWatchers.list()
	f.mu.Unlock()
	for _, fn := range fns {
		fn(slices.Clone(entries))
	}
}

// Watchers is how many status watchers have not stopped.
func (f *StatusSource) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watchers.len()
}

// OutboxWatchers is how many outbox watchers have not stopped.
func (f *StatusSource) OutboxWatchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outboxWatchers.len()
}

// ForcedReconnects is how many times ForceReconnect was called.
func (f *StatusSource) ForcedReconnects() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forced
}
