//go:build !wasm

package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/conntest"
	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/postgres"
	"tether/server/store/postgres/pgtest"
)

// recorder stands for a node's hub: it keeps what the store told it and
// checks the promise the hub relies on, per room in seq order without a
// gap or a repeat, one call at a time.
type recorder struct {
	t        *testing.T
	inCall   atomic.Int32
	mu       sync.Mutex
	told     map[string][]int64 // room -> seqs in the order told
	local    map[string]bool    // "room/seq" -> told through OnCommit
	resyncs  int
	restart  map[string]bool // rooms whose next seq may jump: after a resync
	block    chan struct{}   // when set, OnPeerCommit waits for it to close
	blocking chan struct{}   // closed when OnPeerCommit starts waiting
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, told: map[string][]int64{}, local: map[string]bool{}, restart: map[string]bool{}}
}

func (r *recorder) options() postgres.Options {
	return postgres.Options{
		OnCommit:     func(msgs []wire.Message) { r.record(msgs, true) },
		OnPeerCommit: func(msgs []wire.Message) { r.record(msgs, false) },
		OnResync: func() {
			r.mu.Lock()
			r.resyncs++
			for room := range r.told {
				r.restart[room] = true
			}
			r.mu.Unlock()
		},
	}
}

// open opens a node on url that tells r, reading the log every poll and
// sweeping the outbox every sweep; 0 means the default.
func (r *recorder) open(t *testing.T, url string, poll, sweep time.Duration) *postgres.Store {
	opts := r.options()
	opts.PollInterval, opts.SweepInterval = poll, sweep
	return open(t, url, opts)
}

func (r *recorder) record(msgs []wire.Message, local bool) {
	if n := r.inCall.Add(1); n != 1 {
		r.t.Errorf("the store told the hub from %d goroutines at once", n)
	}
	defer r.inCall.Add(-1)
	if !local && r.block != nil {
		close(r.blocking)
		<-r.block
		r.block = nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		seqs := r.told[m.Room]
		if len(seqs) > 0 && m.Seq != seqs[len(seqs)-1]+1 && !r.restart[m.Room] {
			r.t.Errorf("room %s: told seq %d after %d", m.Room, m.Seq, seqs[len(seqs)-1])
		}
		delete(r.restart, m.Room)
		r.told[m.Room] = append(seqs, m.Seq)
		r.local[fmt.Sprintf("%s/%d", m.Room, m.Seq)] = local
	}
}

// isLocal reports whether room/seq was told through OnCommit.
func (r *recorder) isLocal(room string, seq int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.local[fmt.Sprintf("%s/%d", room, seq)]
}

// seqs returns a copy of the seqs told for room.
func (r *recorder) seqs(room string) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.told[room])
}

// waitFor waits until room's last told seq is at least head.
func (r *recorder) waitFor(t *testing.T, room string, head int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seqs := r.seqs(room)
		if len(seqs) > 0 && seqs[len(seqs)-1] >= head {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s: told %v, want up to %d", room, seqs, head)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newMessage(room, clientID string) store.NewMessage {
	return store.NewMessage{Room: room, ID: room + "-" + clientID, ClientID: clientID,
		Sender: wire.User{ID: "u", Name: "U", Role: wire.RoleCustomer}, Body: "body " + clientID, SentAt: 1}
}

func TestEveryNodeIsToldOfEveryMessageOnceInSeqOrder(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	recs := []*recorder{newRecorder(t), newRecorder(t)}
	nodes := make([]*postgres.Store, len(recs))
	for i, r := range recs {
		nodes[i] = open(t, url, r.options())
	}
	rooms := []string{"r1", "r2", "r3"}
	const callers, each = 4, 40
	var mu sync.Mutex
	storedBy := map[string]int{} // "room/seq" -> node
	var wg sync.WaitGroup
	for n, s := range nodes {
		for w := range callers {
			wg.Go(func() {
				for i := range each {
					room := rooms[(w+i)%len(rooms)]
					m, created, err := s.Append(t.Context(), newMessage(room, fmt.Sprintf("n%d-w%d-%d", n, w, i)))
					if !assert.NoError(t, err) || !assert.True(t, created) {
						return
					}
					mu.Lock()
					storedBy[fmt.Sprintf("%s/%d", room, m.Seq)] = n
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()

	for _, room := range rooms {
		head, err := nodes[0].Head(t.Context(), room)
		require.NoError(t, err)
		for n, r := range recs {
			r.waitFor(t, room, head)
			assert.Equal(t, conntest.SeqRange(1, head), r.seqs(room), "node %d, room %s", n, room)
			for _, seq := range r.seqs(room) {
				key := fmt.Sprintf("%s/%d", room, seq)
				local := r.isLocal(room, seq)
				assert.Equal(t, storedBy[key] == n, local, "node %d: %s told as local=%v", n, key, local)
			}
		}
	}
}

func TestANodeTellsItsOwnMessageBeforeTheAppendReturns(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	s := open(t, pgtest.NewDatabase(t), rec.options())
	for i := range 5 {
		m, _, err := s.Append(t.Context(), newMessage("room", fmt.Sprint(i)))
		require.NoError(t, err)
		assert.Equal(t, conntest.SeqRange(1, m.Seq), rec.seqs("room"), "told before the ack")
	}
}

// listenerPIDs are the server processes of the listeners on admin's
// database.
func listenerPIDs(t *testing.T, admin *pgx.Conn) []int32 {
	t.Helper()
	rows, err := admin.Query(context.Background(), `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'tether listener' ORDER BY pid`)
	require.NoError(t, err)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	return pids
}

func TestAListenerThatLosesItsConnectionCatchesUpFromTheLog(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	// No polling: what B learns, it learns from notifications and from
	// reading the log when it reconnects.
	sender := open(t, url, postgres.Options{PollInterval: time.Hour})
	rec := newRecorder(t)
	rec.open(t, url, time.Hour, 0)
	admin := pgtest.Connect(t, url)

	const rounds, each = 5, 10
	cut := map[int32]bool{}
	for round := range rounds {
		// Both listeners are back (on new connections) before each cut.
		var pids []int32
		require.Eventually(t, func() bool {
			pids = slices.DeleteFunc(listenerPIDs(t, admin), func(pid int32) bool { return cut[pid] })
			return len(pids) == 2
		}, 10*time.Second, 5*time.Millisecond, "round %d: the listeners reconnect", round)
		for _, pid := range pids {
			_, err := admin.Exec(t.Context(), "SELECT pg_terminate_backend($1)", pid)
			require.NoError(t, err)
			cut[pid] = true
		}
		// Appended while the listeners reconnect: their notifications go
		// to no one.
		for i := range each {
			_, _, err := sender.Append(t.Context(), newMessage("room", fmt.Sprintf("%d-%d", round, i)))
			require.NoError(t, err)
		}
	}
	rec.waitFor(t, "room", rounds*each)
	assert.Equal(t, conntest.SeqRange(1, rounds*each), rec.seqs("room"))
}

// deadNodeAppend stores a message the way a node does, then dies before its
// relay: the outbox row stays behind.
func deadNodeAppend(t *testing.T, conn *pgx.Conn, room, clientID string) {
	t.Helper()
	_, err := conn.Exec(context.Background(), "SELECT * FROM tether_append($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		room, room+"-"+clientID, clientID, []byte("u"), []byte("U"), wire.RoleCustomer, []byte("hi"), int64(1), "dead-node")
	require.NoError(t, err)
}

func TestTheSweepRelaysWhatADeadNodeLeftInTheOutbox(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	rec := newRecorder(t)
	s := rec.open(t, url, 0, 50*time.Millisecond)
	conn := pgtest.Connect(t, url)
	for i := range 3 {
		deadNodeAppend(t, conn, "room", fmt.Sprint(i))
	}
	rec.waitFor(t, "room", 3)
	assert.Equal(t, conntest.SeqRange(1, 3), rec.seqs("room"))
	assert.False(t, rec.isLocal("room", 1), "another node's message is told as a peer's")

	// And the next local message follows them.
	m, _, err := s.Append(t.Context(), newMessage("room", "mine"))
	require.NoError(t, err)
	assert.Equal(t, int64(4), m.Seq)
	rec.waitFor(t, "room", 4)
	assert.Equal(t, conntest.SeqRange(1, 4), rec.seqs("room"))
}

// silentRelay relays the outbox like a node does, but notifies no one:
// as if every notification were lost.
func silentRelay(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	_, err := conn.Exec(context.Background(), `WITH moved AS (DELETE FROM outbox RETURNING room, seq)
		INSERT INTO fanout (room, first_seq, last_seq) SELECT room, min(seq), max(seq) FROM moved GROUP BY room`)
	require.NoError(t, err)
}

func TestALostNotificationIsCaughtUpByThePoll(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	rec := newRecorder(t)
	// Swept hourly: no relay but the one below.
	rec.open(t, url, 50*time.Millisecond, time.Hour)
	conn := pgtest.Connect(t, url)
	deadNodeAppend(t, conn, "room", "a")
	deadNodeAppend(t, conn, "room", "b")
	silentRelay(t, conn)
	rec.waitFor(t, "room", 2)
	assert.Equal(t, conntest.SeqRange(1, 2), rec.seqs("room"))
}

func TestARelayOfMoreRoomsThanANotificationHoldsIsReadFromTheLog(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	rec := newRecorder(t)
	// Polled hourly: only the notification wakes it.
	rec.open(t, url, time.Hour, 50*time.Millisecond)
	conn := pgtest.Connect(t, url)
	// 200 rooms of 60-character names relayed at once: about 16 KB of
	// entries, twice what a payload holds.
	var rooms []string
	for i := range 200 {
		rooms = append(rooms, fmt.Sprintf("%060d", i))
	}
	_, err := conn.Exec(context.Background(), `SELECT count(*) FROM unnest($1::text[]) AS room,
		LATERAL tether_append(room, room || '-m', 'c1', 'u'::bytea, 'U'::bytea, 'customer', 'hi'::bytea, 1, 'dead-node')`, rooms)
	require.NoError(t, err)
	for _, room := range rooms {
		rec.waitFor(t, room, 1)
		assert.Equal(t, []int64{1}, rec.seqs(room), room)
	}
}

func TestAListenerBehindThePrunedLogResyncs(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	rec := newRecorder(t)
	rec.block, rec.blocking = make(chan struct{}), make(chan struct{})
	rec.open(t, url, 50*time.Millisecond, time.Hour)
	conn := pgtest.Connect(t, url)

	// The listener takes the first message and hangs in the hub while the
	// log moves on, unannounced, and is pruned past its cursor.
	deadNodeAppend(t, conn, "room", "first")
	silentRelay(t, conn)
	<-rec.blocking
	for i := range 3 {
		deadNodeAppend(t, conn, "room", fmt.Sprint(i))
	}
	silentRelay(t, conn)
	exec(t, url, "UPDATE fanout_horizon SET horizon = (SELECT max(id) FROM fanout)")
	exec(t, url, "DELETE FROM fanout")
	close(rec.block)

	require.Eventually(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.resyncs == 1
	}, 10*time.Second, 10*time.Millisecond, "the listener resyncs")
	// It goes on with what comes next.
	deadNodeAppend(t, conn, "room", "after")
	silentRelay(t, conn)
	rec.waitFor(t, "room", 5)
	assert.Equal(t, []int64{1, 5}, rec.seqs("room"), "told the first, then after the resync the new one")
}

func TestANodeStartedOnALogPrunedEmptyNeedsNoResync(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	open(t, url, postgres.Options{}).Close() // the schema
	conn := pgtest.Connect(t, url)
	deadNodeAppend(t, conn, "room", "old")
	silentRelay(t, conn)
	exec(t, url, "UPDATE fanout_horizon SET horizon = (SELECT max(id) FROM fanout)")
	exec(t, url, "DELETE FROM fanout")

	rec := newRecorder(t)
	rec.open(t, url, 20*time.Millisecond, 20*time.Millisecond)
	deadNodeAppend(t, conn, "room", "new")
	rec.waitFor(t, "room", 2)
	assert.Equal(t, []int64{2}, rec.seqs("room"), "only what came after the start")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Zero(t, rec.resyncs)
}
