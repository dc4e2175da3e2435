package components_test

import (
	"slices"
	"sync"
	"time"

	"tether/components"
	"tether/conn"
)

// t0 is the fake clock's start: a fixed moment, so tests never read the
// wall clock.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// fakeClock is the banner's clock and timers: Advance moves the time and
// calls the timers that came due, in order, on the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) (stop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.stopped = true
	}
}

// Advance moves the clock by d, calling each timer due on the way at its
// own moment.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return t.stopped })
		slices.SortStableFunc(c.timers, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		c.now = t.at
		c.mu.Unlock()
		t.f()
	}
}

// Pending is the number of timers armed and not stopped.
func (c *fakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

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
