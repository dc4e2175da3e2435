// Package conntest fakes every port of the connection service: a clock you
// advance, an in-memory server whose sockets you break with any close code
// and whose network you unplug, an HTTP API you make fail, a token source,
// storage and a browser environment you fire events on; and, for code that
// shows the service, a status source you change. Settle and Advance let a
// service on these fakes come to rest between clock steps, so tests and
// benchmarks never sleep for it.
//
// The fakes start no goroutine of their own: timers fire on the goroutine
// that advances the clock, and calls that wait (a long poll, a dial into a
// black hole) wait on the caller's goroutine until their context ends.
package conntest

import (
	"slices"
	"sync"
	"time"

	"tether/conn"
)

// Epoch is where a Clock made with the zero time starts.
var Epoch = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// Clock is a conn.Clock that moves only when told.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*timer
}

var _ conn.Clock = (*Clock)(nil)

type timer struct {
	clock *Clock
	at    time.Time
	seq   int
	fn    func()
}

// NewClock returns a clock at start, or at Epoch for the zero time.
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = Epoch
	}
	return &Clock{now: start}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules fn after d. It runs on the goroutine that moves the
// clock past its time (Advance, Step, Jump, FireDue), never on its own.
func (c *Clock) AfterFunc(d time.Duration, fn func()) conn.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{clock: c, at: c.now.Add(max(d, 0)), seq: c.seq, fn: fn}
	c.timers = append(c.timers, t)
	return t
}

// Stop cancels the timer; it reports whether it was still pending.
func (t *timer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, t)
	if i < 0 {
		return false
	}
	c.timers = slices.Delete(c.timers, i, i+1)
	return true
}

// earliest returns the index of the first timer due at or before until.
func (c *Clock) earliest(until time.Time) int {
	best := -1
	for i, t := range c.timers {
		if t.at.After(until) {
			continue
		}
		if best < 0 || t.at.Before(c.timers[best].at) || (t.at.Equal(c.timers[best].at) && t.seq < c.timers[best].seq) {
			best = i
		}
	}
	return best
}

// Step fires the first timer due at or before until, with the clock set to
// its time, and reports whether there was one.
func (c *Clock) Step(until time.Time) bool {
	c.mu.Lock()
	i := c.earliest(until)
	if i < 0 {
		c.mu.Unlock()
		return false
	}
	t := c.timers[i]
	c.timers = slices.Delete(c.timers, i, i+1)
	if t.at.After(c.now) {
		c.now = t.at
	}
	c.mu.Unlock()
	t.fn()
	return true
}

// Set moves the clock to t without firing anything (t before now is
// ignored).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// Advance moves the clock by d, firing every timer due on the way, each at
// its own time, timers they schedule included.
func (c *Clock) Advance(d time.Duration) {
	target := c.Now().Add(d)
	for c.Step(target) {
	}
	c.Set(target)
}

// Jump moves the clock by d at once, as a suspended laptop or a frozen tab
// sees it: the timers that fell due fire afterwards, all seeing the new time.
func (c *Clock) Jump(d time.Duration) {
	c.Set(c.Now().Add(d))
	c.FireDue()
}

// FireDue fires the timers due now and reports how many.
func (c *Clock) FireDue() int {
	n := 0
	for c.Step(c.Now()) {
		n++
	}
	return n
}

// Next returns when the next timer is due.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.earliest(time.Unix(1<<62, 0))
	if i < 0 {
		return time.Time{}, false
	}
	return c.timers[i].at, true
}

// Pending is how many timers wait.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}
