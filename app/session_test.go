package app

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"tether/components"
	"tether/conn"
)

// fakeSource is a status and outbox source whose changes the test makes.
type fakeSource struct {
	mu         sync.Mutex
	status     conn.Status
	outbox     []conn.OutboxEntry
	watchers   map[int]func(conn.Status)
	obWatchers map[int]func([]conn.OutboxEntry)
	next       int
	reconnects int
}

func newFakeSource(s conn.Status) *fakeSource {
	return &fakeSource{status: s, watchers: map[int]func(conn.Status){}, obWatchers: map[int]func([]conn.OutboxEntry){}}
}

func (f *fakeSource) Status() conn.Status { f.mu.Lock(); defer f.mu.Unlock(); return f.status }
func (f *fakeSource) ForceReconnect()     { f.mu.Lock(); f.reconnects++; f.mu.Unlock() }
func (f *fakeSource) Outbox() []conn.OutboxEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outbox
}

func (f *fakeSource) Watch(fn func(conn.Status)) func() {
	f.mu.Lock()
	id := f.next
	f.next++
	f.watchers[id] = fn
	f.mu.Unlock()
	return func() { f.mu.Lock(); delete(f.watchers, id); f.mu.Unlock() }
}

func (f *fakeSource) WatchOutbox(fn func([]conn.OutboxEntry)) func() {
	f.mu.Lock()
	id := f.next
	f.next++
	f.obWatchers[id] = fn
	f.mu.Unlock()
	return func() { f.mu.Lock(); delete(f.obWatchers, id); f.mu.Unlock() }
}

func (f *fakeSource) set(s conn.Status) {
	f.mu.Lock()
	f.status = s
	fns := make([]func(conn.Status), 0, len(f.watchers))
	for _, fn := range f.watchers {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(s)
	}
}

func (f *fakeSource) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers), len(f.obWatchers)
}

func TestLateStatusMovesItsWatchersToTheSession(t *testing.T) {
	t.Parallel()
	l := newLateStatus(components.FixedStatus(conn.InitialStatus()))
	var mu sync.Mutex
	var seen []conn.State
	var outboxes [][]conn.OutboxEntry
	stop := l.Watch(func(s conn.Status) { mu.Lock(); seen = append(seen, s.State); mu.Unlock() })
	stopOB := l.WatchOutbox(func(e []conn.OutboxEntry) { mu.Lock(); outboxes = append(outboxes, e); mu.Unlock() })
	assert.Equal(t, conn.StateConnecting, l.Status().State, "the pre-rendered status until the session opens")
	assert.Empty(t, l.Outbox())
	l.ForceReconnect() // nothing to reconnect yet; must not panic

	svc := newFakeSource(conn.Status{State: conn.StateConnected})
	svc.outbox = []conn.OutboxEntry{{ClientID: "c1"}}
	l.set(svc, svc, nil)
	assert.Equal(t, conn.StateConnected, l.Status().State)
	assert.Len(t, l.Outbox(), 1)
	watchers, obWatchers := svc.counts()
	assert.Equal(t, 1, watchers, "the status watcher moved to the session")
	assert.Equal(t, 1, obWatchers, "the outbox watcher moved to the session")

	svc.set(conn.Status{State: conn.StateReconnecting})
	l.ForceReconnect()
	mu.Lock()
	assert.Equal(t, []conn.State{conn.StateConnected, conn.StateReconnecting}, seen, "told at the switch, then each change")
	assert.Equal(t, [][]conn.OutboxEntry{{{ClientID: "c1"}}}, outboxes)
	mu.Unlock()
	assert.Equal(t, 1, svc.reconnects)

	stop()
	stopOB()
	stop() // twice is harmless
	watchers, obWatchers = svc.counts()
	assert.Zero(t, watchers)
	assert.Zero(t, obWatchers)
}
