package components_test

import (
	"slices"
	"sync"
	"time"

	"tether/components"
	"tether/conn"
)

// t0 is where the tests' clocks start: a fixed moment, so tests never
// read the wall clock.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// fakeOutbox is an OutboxSource the test drives.
type fakeOutbox struct {
	mu       sync.Mutex
	entries  []conn.OutboxEntry
	watchers map[int]func([]conn.OutboxEntry)
	next     int
}

var _ components.OutboxSource = (*fakeOutbox)(nil)

func newFakeOutbox(entries ...conn.OutboxEntry) *fakeOutbox {
	return &fakeOutbox{entries: entries, watchers: map[int]func([]conn.OutboxEntry){}}
}

func (f *fakeOutbox) Outbox() []conn.OutboxEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.entries)
}

func (f *fakeOutbox) WatchOutbox(fn func([]conn.OutboxEntry)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.next
	f.next++
	f.watchers[id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.watchers, id)
	}
}

func (f *fakeOutbox) Set(entries ...conn.OutboxEntry) {
	f.mu.Lock()
	f.entries = entries
	fns := make([]func([]conn.OutboxEntry), 0, len(f.watchers))
	for _, fn := range f.watchers {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(slices.Clone(entries))
	}
}

func (f *fakeOutbox) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers)
}

// queued is an outbox entry waiting to go.
func queued(id string) conn.OutboxEntry {
	return conn.OutboxEntry{ClientID: id, Room: "r1", Body: "hello " + id, Created: t0}
}

// failed is an outbox entry that gave up.
func failed(id string) conn.OutboxEntry {
	e := queued(id)
	e.Failed, e.LastError = true, "server answered invalid_body"
	return e
}
