package app

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"tether/components"
	"tether/conn"
	"tether/conn/conntest"
)

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

	svc := conntest.NewStatusSource(conn.Status{State: conn.StateConnected}, conn.OutboxEntry{ClientID: "c1"})
	l.set(svc, svc, nil)
	assert.Equal(t, conn.StateConnected, l.Status().State)
	assert.Len(t, l.Outbox(), 1)
	assert.Equal(t, 1, svc.Watchers(), "the status watcher moved to the session")
	assert.Equal(t, 1, svc.OutboxWatchers(), "the outbox watcher moved to the session")

	svc.SetStatus(conn.Status{State: conn.StateReconnecting})
	l.ForceReconnect()
	mu.Lock()
	assert.Equal(t, []conn.State{conn.StateConnected, conn.StateReconnecting}, seen, "told at the switch, then each change")
	assert.Equal(t, [][]conn.OutboxEntry{{{ClientID: "c1"}}}, outboxes)
	mu.Unlock()
	assert.Equal(t, 1, svc.ForcedReconnects())

	stop()
	stopOB()
	stop() // twice is harmless
	assert.Zero(t, svc.Watchers())
	assert.Zero(t, svc.OutboxWatchers())
}
