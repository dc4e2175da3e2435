//go:build unix

package main

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/store/postgres/pgtest"
)

// recorder keeps what a service delivered for one room.
type recorder struct {
	mu  sync.Mutex
	got []wire.Message
}

func (r *recorder) add(m wire.Message) {
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
}

func (r *recorder) messages() []wire.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func waitUntil(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A customer whose service knows both nodes keeps chatting when its node
// dies: the service reconnects to the other node and resumes by seq.
func TestTheServiceFailsOverToAnotherNode(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	a, b := startNode(t, db), startNode(t, db)
	const room = "failover-room"
	ctx := t.Context()
	cfg := conn.Config{
		BaseReconnectDelay: 100 * time.Millisecond, MaxReconnectDelay: time.Second,
		HeartbeatInterval: 3 * time.Second, QualityCheckInterval: time.Second,
		ConnectionTimeout: 2 * time.Second, StableAfter: time.Second, AckTimeout: 2 * time.Second,
	}
	start := func(user, role string, endpoints *native.Endpoints) (*conn.Service, *recorder) {
		tok, err := native.DevToken(ctx, b.URL, room, user, user, role)
		require.NoError(t, err)
		svc := conn.New(cfg, native.PortsFor(endpoints, native.NewStaticTokens(tok)))
		t.Cleanup(svc.Close)
		rec := &recorder{}
		svc.SubscribeToMessages(room, rec.add, func(err error) { t.Errorf("%s: %v", user, err) })
		waitUntil(t, 15*time.Second, func() bool { return svc.Status().State == conn.StateConnected }, user+" connected")
		return svc, rec
	}
	casey, caseyGot := start("casey", wire.RoleCustomer, native.NewEndpoints(a.URL, b.URL))
	taylor, taylorGot := start("taylor", wire.RoleTherapist, native.NewEndpoints(b.URL))

	var sent []string
	say := func(svc *conn.Service, body string) {
		_, err := svc.Send(room, body)
		require.NoError(t, err)
		sent = append(sent, body)
	}
	for i := range 3 {
		say(casey, fmt.Sprintf("casey on A %d", i))
		say(taylor, fmt.Sprintf("taylor on B %d", i))
	}
	waitUntil(t, 15*time.Second, func() bool { return len(caseyGot.messages()) == 6 && len(taylorGot.messages()) == 6 }, "six messages each")

	a.Kill()
	say(casey, "casey after A died")
	say(taylor, "taylor while casey moves")
	waitUntil(t, 20*time.Second, func() bool { return len(caseyGot.messages()) >= 8 && len(taylorGot.messages()) >= 8 }, "eight messages each")
	time.Sleep(500 * time.Millisecond) // a repeat would show now

	for who, got := range map[string][]wire.Message{"casey": caseyGot.messages(), "taylor": taylorGot.messages()} {
		require.Len(t, got, len(sent), who)
		bodies := make([]string, len(got))
		for i, m := range got {
			assert.Equal(t, int64(i+1), m.Seq, "%s: seqs in order, each once", who)
			bodies[i] = m.Body
		}
		assert.ElementsMatch(t, sent, bodies, who)
	}
	assert.Equal(t, conn.StateConnected, casey.Status().State)
}
