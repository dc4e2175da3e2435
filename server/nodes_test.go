//go:build unix

package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/internal/servertest"
	"tether/server/store/postgres/pgtest"
)

// sharedSecret signs the tokens of the nodes of one test: every node must
// accept the tokens of the others, which a per-folder dev secret would not.
const sharedSecret = "a-secret-shared-by-every-node-of-the-test"

// startNode runs the binary as one node on the PostgreSQL database at
// store, in dev mode with the shared secret, and waits for its URL.
func startNode(t *testing.T, store string) *servertest.Process {
	t.Helper()
	requireWasm(t)
	p := servertest.Start(t, servertest.Options{
		Args: []string{"-dev", "-store", store},
		Env:  []string{"TETHER_SECRET=" + sharedSecret},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node %s output:\n%s", p.URL, p.Output())
		}
	})
	return p
}

// participant is one person of the booking: a session on one node and
// every message of the room it received, in order.
type participant struct {
	name string
	tok  string
	ws   *native.Conn
	got  []wire.Message
	acks map[string]int64 // client_id -> seq
}

func join(t *testing.T, node *servertest.Process, room, user, role string) *participant {
	t.Helper()
	tok, err := native.DevToken(t.Context(), node.URL, room, user, user, role)
	require.NoError(t, err)
	p := &participant{name: user, tok: tok, acks: map[string]int64{}}
	p.dial(t, node, room, 0)
	return p
}

// dial opens a session on node that resumes room after since.
func (p *participant) dial(t *testing.T, node *servertest.Process, room string, since int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ws, err := native.Dial(ctx, node.URL, p.tok, native.WithResume(map[string]int64{room: since}))
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	p.ws = ws
}

// last is the seq of the last message received, 0 before any.
func (p *participant) last() int64 {
	if len(p.got) == 0 {
		return 0
	}
	return p.got[len(p.got)-1].Seq
}

// readUntil reads frames until the participant has received every message
// up to head and the acks of clientIDs.
func (p *participant) readUntil(t *testing.T, head int64, clientIDs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	for {
		missingAck := false
		for _, id := range clientIDs {
			if _, ok := p.acks[id]; !ok {
				missingAck = true
			}
		}
		if p.last() >= head && !missingAck {
			return
		}
		f, err := p.ws.Next(ctx)
		require.NoError(t, err, "%s: received up to %d of %d", p.name, p.last(), head)
		switch f := f.(type) {
		case *wire.Message:
			p.got = append(p.got, *f)
		case *wire.Ack:
			p.acks[f.ClientID] = f.Seq
		case *wire.Subscribed:
		default:
			t.Fatalf("%s: unexpected frame %#v", p.name, f)
		}
	}
}

// requireEveryMessageOnceInOrder checks that p received seqs 1..head, once
// each, in order, with the bodies stored.
func requireEveryMessageOnceInOrder(t *testing.T, p *participant, bodies map[int64]string, head int64) {
	t.Helper()
	seqs := make([]int64, len(p.got))
	for i, m := range p.got {
		seqs[i] = m.Seq
		require.Equal(t, bodies[m.Seq], m.Body, "%s: body of seq %d", p.name, m.Seq)
	}
	want := make([]int64, head)
	for i := range want {
		want[i] = int64(i + 1)
	}
	require.Equal(t, want, seqs, "%s received every message once, in order", p.name)
}

// Two server processes share one database: the customer is on node A, the
// therapist on node B. Messages flow both ways in order, exactly once; when
// node A is killed, the customer comes back through node B and gets what it
// missed, nothing lost and nothing twice.
func TestTwoNodesShareARoomAndSurviveTheLossOfOne(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	a, b := startNode(t, db), startNode(t, db)
	const room = "booking-2node"
	customer := join(t, a, room, "casey", wire.RoleCustomer)
	therapist := join(t, b, room, "taylor", wire.RoleTherapist)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	bodies := map[int64]string{}
	send := func(p *participant, clientID, body string) {
		t.Helper()
		ack, err := p.ws.SendAndAck(ctx, room, clientID, body)
		require.NoError(t, err)
		p.acks[clientID] = ack.Seq
		bodies[ack.Seq] = body
	}

	// A conversation: each waits for the other's message before answering.
	for i := range 5 {
		send(customer, fmt.Sprintf("c%d", i), fmt.Sprintf("question %d", i))
		therapist.readUntil(t, int64(2*i+1))
		send(therapist, fmt.Sprintf("t%d", i), fmt.Sprintf("answer %d", i))
		customer.readUntil(t, int64(2*i+2))
	}
	// Then both at once, without waiting for acks.
	var ids [2][]string
	for i := range 10 {
		for j, p := range []*participant{customer, therapist} {
			id := fmt.Sprintf("%s-burst-%d", p.name, i)
			require.NoError(t, p.ws.Send(ctx, room, id, "burst "+id))
			ids[j] = append(ids[j], id)
		}
	}
	customer.readUntil(t, 30, ids[0]...)
	therapist.readUntil(t, 30, ids[1]...)
	for _, p := range []*participant{customer, therapist} {
		for _, m := range p.got {
			bodies[m.Seq] = m.Body // the burst's seqs, known only now
		}
	}
	for _, p := range []*participant{customer, therapist} {
		requireEveryMessageOnceInOrder(t, p, bodies, 30)
	}

	// Node A dies with the customer on it. The therapist goes on writing;
	// the customer, given both nodes, comes back through B from its last
	// seq.
	a.Kill()
	for i := range 5 {
		send(therapist, fmt.Sprintf("t-alone-%d", i), fmt.Sprintf("are you there? %d", i))
	}
	therapist.readUntil(t, 35)
	customer.dial(t, b, room, customer.last())
	customer.readUntil(t, 35)
	send(customer, "c-back", "back, through node B")
	customer.readUntil(t, 36)
	therapist.readUntil(t, 36)
	for _, p := range []*participant{customer, therapist} {
		requireEveryMessageOnceInOrder(t, p, bodies, 36)
	}
}

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
			require.Equal(t, int64(i+1), m.Seq, "%s: seqs in order, each once", who)
			bodies[i] = m.Body
		}
		require.ElementsMatch(t, sent, bodies, who)
	}
	require.Equal(t, conn.StateConnected, casey.Status().State)
}
