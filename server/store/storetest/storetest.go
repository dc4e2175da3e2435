//go:build !wasm

// Package storetest is the conformance suite of store.Store. Every store
// runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openMine(t) })
//	}
//
// Besides the interface's documentation, the suite pins down what callers rely
// on: a limit of 0 or less returns no message (or room), Before with a
// before of 0 or less pages from the newest message, reads return a non-nil
// slice, Rooms orders the rooms by their last append, a call with an ended
// context fails with an error wrapping the context's error and stores
// nothing, and every call after Close fails with store.ErrClosed.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/conntest"
	"tether/conn/wire"
	"tether/server/store"
)

// Run runs the suite. open must return a fresh, empty store of its own for
// each call: the subtests run in parallel. The suite closes every store it
// opens.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	s := suite{open: open}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"the first seq of a room is 1 and the next ones follow without a gap", s.firstSeqIsOneAndDense},
		{"rooms count their seqs independently", s.roomsAreIndependent},
		{"append returns the message as given, with its seq", s.appendReturnsTheMessage},
		{"a repeated client_id returns the original message and stores nothing", s.repeatedClientID},
		{"the same client_id from two senders makes two messages", s.clientIDPerSender},
		{"the same client_id in two rooms makes two messages", s.clientIDPerRoom},
		{"concurrent appends to one room get every seq exactly once", s.concurrentAppends},
		{"after returns the later messages in seq order", s.after},
		{"before returns the newest earlier messages in seq order", s.before},
		{"paging back with before visits every message once", s.pagingBack},
		{"head is the last seq and 0 for an unknown room", s.head},
		{"rooms lists the rooms with messages, the last appended to first", s.rooms},
		{"rooms with names lists only those rooms", s.roomsNamed},
		{"bodies and names round-trip byte for byte", s.roundTrip},
		{"an ended context fails promptly and stores nothing", s.endedContext},
		{"ping answers while the store is open", s.ping},
		{"every call after close returns ErrClosed", s.afterClose},
		{"close lets the appends in flight finish", s.closeDuringAppends},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t)
		})
	}
}

type suite struct {
	open func(t *testing.T) store.Store
}

// store opens a store that is closed when t ends.
func (s suite) store(t *testing.T) store.Store {
	t.Helper()
	st := s.open(t)
	require.NotNil(t, st)
	t.Cleanup(func() {
		// Close twice is fine, so tests that close themselves still pass here.
		assert.NoError(t, st.Close())
	})
	return st
}

// ids makes the server-chosen message ids unique across the whole suite.
var ids atomic.Int64

// Ada and Bo are the users of the suite's messages, and of the stores' own
// tests: Ada a customer, Bo a therapist.
var (
	Ada = wire.User{ID: "u-ada", Name: "Ada", Role: wire.RoleCustomer}
	Bo  = wire.User{ID: "u-bo", Name: "Bo", Role: wire.RoleTherapist}
)

// msg is a message of room with clientID, a fresh id and a body naming both.
func msg(room, clientID string) store.NewMessage {
	n := ids.Add(1)
	return store.NewMessage{
		Room:     room,
		ID:       fmt.Sprintf("m-%d", n),
		ClientID: clientID,
		Sender:   Ada,
		Body:     "body of " + room + "/" + clientID,
		SentAt:   1_700_000_000_000 + n,
	}
}

// appendN appends n messages to room with client ids c1..cn and requires
// that they get seqs 1..n.
func appendN(t *testing.T, st store.Store, room string, n int) []wire.Message {
	t.Helper()
	out := make([]wire.Message, 0, n)
	for i := 1; i <= n; i++ {
		m, created, err := st.Append(context.Background(), msg(room, fmt.Sprintf("c%d", i)))
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, int64(i), m.Seq)
		out = append(out, m)
	}
	return out
}

// readAll reads the messages of room from its start: all of them, as no
// case stores 1,000 in one room.
func readAll(t *testing.T, st store.Store, room string) []wire.Message {
	t.Helper()
	got, err := st.After(context.Background(), room, 0, 1000)
	require.NoError(t, err)
	return got
}

func (s suite) firstSeqIsOneAndDense(t *testing.T) {
	st := s.store(t)
	appendN(t, st, "r1", 5)
	assert.Equal(t, conntest.SeqRange(1, 5), conntest.Seqs(readAll(t, st, "r1")))
}

func (s suite) roomsAreIndependent(t *testing.T) {
	st := s.store(t)
	ctx := context.Background()
	// Interleaved, so that a global counter would show.
	for i := 1; i <= 3; i++ {
		for _, room := range []string{"a", "b"} {
			m, created, err := st.Append(ctx, msg(room, fmt.Sprintf("c%d", i)))
			require.NoError(t, err)
			require.True(t, created)
			assert.Equal(t, int64(i), m.Seq, "room %s", room)
		}
	}
	for _, room := range []string{"a", "b"} {
		got := readAll(t, st, room)
		assert.Equal(t, conntest.SeqRange(1, 3), conntest.Seqs(got), "room %s", room)
		for _, m := range got {
			assert.Equal(t, room, m.Room)
		}
	}
}

func (s suite) appendReturnsTheMessage(t *testing.T) {
	st := s.store(t)
	in := msg("r1", "c1")
	in.Sender = Bo
	got, created, err := st.Append(context.Background(), in)
	require.NoError(t, err)
	assert.True(t, created)
	want := wire.Message{Room: in.Room, Seq: 1, ID: in.ID, ClientID: in.ClientID, Sender: in.Sender, Body: in.Body, SentAt: in.SentAt}
	assert.Equal(t, want, got)
	assert.Equal(t, []wire.Message{want}, readAll(t, st, "r1"))
}

func (s suite) concurrentAppends(t *testing.T) {
	st := s.store(t)
	const workers, each = 8, 50
	var mu sync.Mutex
	acked := map[string]int64{} // client_id -> seq Append returned
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				clientID := fmt.Sprintf("w%d-%d", w, i)
				m, created, err := st.Append(context.Background(), msg("busy", clientID))
				if !assert.NoError(t, err) || !assert.True(t, created) {
					return
				}
				mu.Lock()
				acked[clientID] = m.Seq
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	got := readAll(t, st, "busy")
	require.Equal(t, conntest.SeqRange(1, workers*each), conntest.Seqs(got))
	require.Len(t, acked, workers*each)
	for _, m := range got {
		assert.Equal(t, acked[m.ClientID], m.Seq, "client_id %s", m.ClientID)
	}
	head, err := st.Head(context.Background(), "busy")
	require.NoError(t, err)
	assert.Equal(t, int64(workers*each), head)
}

func (s suite) after(t *testing.T) {
	st := s.store(t)
	all := appendN(t, st, "r1", 10)
	appendN(t, st, "other", 3)
	checkPages(t, all, st.After, []pageCase{
		{name: "since 0 reads from the first", room: "r1", from: 0, limit: 100, want: conntest.SeqRange(1, 10)},
		{name: "since 4 starts at 5", room: "r1", from: 4, limit: 100, want: conntest.SeqRange(5, 10)},
		{name: "the limit keeps the oldest", room: "r1", from: 4, limit: 3, want: conntest.SeqRange(5, 7)},
		{name: "a limit of exactly the rest reads the rest", room: "r1", from: 7, limit: 3, want: conntest.SeqRange(8, 10)},
		{name: "since the head is empty", room: "r1", from: 10, limit: 100, want: conntest.SeqRange(1, 0)},
		{name: "since beyond the head is empty", room: "r1", from: 50, limit: 100, want: conntest.SeqRange(1, 0)},
		{name: "a limit of 0 returns no message", room: "r1", from: 0, limit: 0, want: conntest.SeqRange(1, 0)},
		{name: "a negative limit returns no message", room: "r1", from: 0, limit: -1, want: conntest.SeqRange(1, 0)},
		{name: "a negative since reads from the first", room: "r1", from: -5, limit: 2, want: conntest.SeqRange(1, 2)},
		{name: "an unknown room is empty", room: "nope", from: 0, limit: 100, want: conntest.SeqRange(1, 0)},
	})
}

func (s suite) before(t *testing.T) {
	st := s.store(t)
	all := appendN(t, st, "r1", 10)
	appendN(t, st, "other", 3)
	checkPages(t, all, st.Before, []pageCase{
		{name: "before head+1 reads the newest", room: "r1", from: 11, limit: 3, want: conntest.SeqRange(8, 10)},
		{name: "before 8 reads the three before it", room: "r1", from: 8, limit: 3, want: conntest.SeqRange(5, 7)},
		{name: "near the start it reads what there is", room: "r1", from: 3, limit: 5, want: conntest.SeqRange(1, 2)},
		{name: "before 1 is empty", room: "r1", from: 1, limit: 5, want: conntest.SeqRange(1, 0)},
		{name: "before beyond the head reads the newest", room: "r1", from: 100, limit: 2, want: conntest.SeqRange(9, 10)},
		{name: "before 0 reads from the newest", room: "r1", from: 0, limit: 3, want: conntest.SeqRange(8, 10)},
		{name: "a negative before reads from the newest", room: "r1", from: -1, limit: 3, want: conntest.SeqRange(8, 10)},
		{name: "a large limit reads them all", room: "r1", from: 0, limit: 100, want: conntest.SeqRange(1, 10)},
		{name: "a limit of 0 returns no message", room: "r1", from: 0, limit: 0, want: conntest.SeqRange(1, 0)},
		{name: "a negative limit returns no message", room: "r1", from: 5, limit: -3, want: conntest.SeqRange(1, 0)},
		{name: "an unknown room is empty", room: "nope", from: 0, limit: 10, want: conntest.SeqRange(1, 0)},
	})
}

// pageCase is a read of a page of room: from is After's since or Before's
// before.
type pageCase struct {
	name  string
	room  string
	from  int64
	limit int
	want  []int64
}

// checkPages runs read for each case: it must return the seqs wanted, as
// a non-nil slice, each message as it was appended (all, by seq).
func checkPages(t *testing.T, all []wire.Message, read func(ctx context.Context, room string, from int64, limit int) ([]wire.Message, error), tests []pageCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := read(context.Background(), tt.room, tt.from, tt.limit)
			require.NoError(t, err)
			require.NotNil(t, got)
			require.Equal(t, tt.want, conntest.Seqs(got))
			for _, m := range got {
				assert.Equal(t, all[m.Seq-1], m)
			}
		})
	}
}

func (s suite) pagingBack(t *testing.T) {
	st := s.store(t)
	appendN(t, st, "r1", 10)
	var pages [][]int64
	before := int64(0)
	for range 10 { // bounded: a store that never ends a page must not hang the suite
		page, err := st.Before(context.Background(), "r1", before, 3)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		pages = append(pages, conntest.Seqs(page))
		before = page[0].Seq
	}
	assert.Equal(t, [][]int64{{8, 9, 10}, {5, 6, 7}, {2, 3, 4}, {1}}, pages)
}

func (s suite) head(t *testing.T) {
	st := s.store(t)
	ctx := context.Background()
	head, err := st.Head(ctx, "r1")
	require.NoError(t, err)
	assert.Equal(t, int64(0), head)
	appendN(t, st, "r1", 4)
	head, err = st.Head(ctx, "r1")
	require.NoError(t, err)
	assert.Equal(t, int64(4), head)
	// A repeat stores nothing, so the head stays.
	_, _, err = st.Append(ctx, msg("r1", "c2"))
	require.NoError(t, err)
	head, err = st.Head(ctx, "r1")
	require.NoError(t, err)
	assert.Equal(t, int64(4), head)
	head, err = st.Head(ctx, "r2")
	require.NoError(t, err)
	assert.Equal(t, int64(0), head)
}

func (s suite) roundTrip(t *testing.T) {
	st := s.store(t)
	tests := []struct {
		name string
		body string
		user wire.User
	}{
		{name: "emoji with skin tones and joiners", body: "hi 👋🏽 👩‍👩‍👧 🎉", user: Ada},
		{name: "right-to-left Hebrew and Arabic", body: "שלום עולם — مرحبا بالعالم", user: wire.User{ID: "u-rtl", Name: "דנה", Role: wire.RoleTherapist}},
		{name: "combining marks and CJK", body: "e\u0301 n\u0303 漢字 かな 한국어", user: wire.User{ID: "u-cjk", Name: "山田", Role: wire.RolePlace}},
		{name: "quotes, backslashes and SQL-looking text", body: `it's "quoted" \n \\ '; DROP TABLE messages; --`, user: Ada},
		{name: "new lines, tabs and a NUL", body: "line 1\nline 2\r\n\ttab \x00 after NUL", user: Ada},
		{name: "a 4000-rune body of 4-byte runes", body: strings.Repeat("😀", wire.MaxBodyChars), user: Ada},
		{name: "a 4000-rune body of mixed widths", body: strings.Repeat("aé€😀", wire.MaxBodyChars/4), user: Ada},
		{name: "an empty sender", body: "x", user: wire.User{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			room := fmt.Sprintf("rt%d", i)
			in := msg(room, "c1")
			in.Body, in.Sender = tt.body, tt.user
			got, created, err := st.Append(context.Background(), in)
			require.NoError(t, err)
			require.True(t, created)
			assert.Equal(t, tt.body, got.Body)
			read, err := st.After(context.Background(), room, 0, 1)
			require.NoError(t, err)
			require.Len(t, read, 1)
			// Equal on strings compares bytes: no normalisation, no trimming.
			assert.Equal(t, tt.body, read[0].Body)
			assert.Equal(t, tt.user, read[0].Sender)
			assert.Equal(t, got, read[0])
		})
	}
}

func (s suite) endedContext(t *testing.T) {
	st := s.store(t)
	appendN(t, st, "r1", 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := []struct {
		name string
		call func(i int) error
	}{
		{"append", func(i int) error { _, _, err := st.Append(ctx, msg("r1", fmt.Sprintf("late%d", i))); return err }},
		{"append to a new room", func(i int) error { _, _, err := st.Append(ctx, msg("fresh", fmt.Sprintf("late%d", i))); return err }},
		{"after", func(int) error { _, err := st.After(ctx, "r1", 0, 10); return err }},
		{"before", func(int) error { _, err := st.Before(ctx, "r1", 0, 10); return err }},
		{"head", func(int) error { _, err := st.Head(ctx, "r1"); return err }},
		{"rooms", func(int) error { _, err := st.Rooms(ctx, nil, 10); return err }},
		{"named rooms", func(int) error { _, err := st.Rooms(ctx, []string{"r1"}, 10); return err }},
		{"ping", func(int) error { return st.Ping(ctx) }},
	}
	for _, c := range calls {
		// Repeated: a store that lets an ended context race with a ready
		// writer would slip through one try half of the time.
		for i := range 20 {
			start := time.Now()
			err := c.call(i)
			require.ErrorIs(t, err, context.Canceled, c.name)
			require.Less(t, time.Since(start), time.Second, c.name)
		}
	}
	// An append queued behind any that slipped through, so that they are
	// committed before the check: nothing of the cancelled ones was stored.
	m, created, err := st.Append(context.Background(), msg("r1", "check"))
	require.NoError(t, err)
	require.True(t, created)
	assert.Equal(t, int64(3), m.Seq)
	for room, want := range map[string]int64{"r1": 3, "fresh": 0} {
		head, err := st.Head(context.Background(), room)
		require.NoError(t, err)
		assert.Equal(t, want, head, room)
	}
}

func (s suite) ping(t *testing.T) {
	st := s.store(t)
	assert.NoError(t, st.Ping(context.Background()))
}

func (s suite) afterClose(t *testing.T) {
	st := s.store(t)
	appendN(t, st, "r1", 1)
	require.NoError(t, st.Close())
	ctx := context.Background()
	_, _, err := st.Append(ctx, msg("r1", "c9"))
	assert.ErrorIs(t, err, store.ErrClosed, "append")
	_, err = st.After(ctx, "r1", 0, 10)
	assert.ErrorIs(t, err, store.ErrClosed, "after")
	_, err = st.Before(ctx, "r1", 0, 10)
	assert.ErrorIs(t, err, store.ErrClosed, "before")
	_, err = st.Head(ctx, "r1")
	assert.ErrorIs(t, err, store.ErrClosed, "head")
	_, err = st.Rooms(ctx, nil, 10)
	assert.ErrorIs(t, err, store.ErrClosed, "rooms")
	assert.ErrorIs(t, st.Ping(ctx), store.ErrClosed, "ping")
	assert.NoError(t, st.Close(), "a second close")
}

func (s suite) closeDuringAppends(t *testing.T) {
	st := s.store(t)
	const workers = 8
	var stored atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{}, workers)
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, _, err := st.Append(context.Background(), msg("r1", fmt.Sprintf("w%d-%d", w, i)))
				if i == 0 {
					started <- struct{}{}
				}
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if !assert.NoError(t, err) {
					return
				}
				stored.Add(1)
			}
		})
	}
	for range workers {
		<-started
	}
	done := make(chan error, 1)
	go func() { done <- st.Close() }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while appends were running")
	}
	wg.Wait()
	assert.Positive(t, stored.Load())
}
