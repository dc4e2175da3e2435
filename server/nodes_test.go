//go:build unix

package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		assert.Equal(t, bodies[m.Seq], m.Body, "%s: body of seq %d", p.name, m.Seq)
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
