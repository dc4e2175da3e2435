//go:build !wasm

package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/conntest"
	"tether/conn/wire"
	"tether/server/store"
)

// The cases of client_id, the sender's idempotency key.

func (s suite) repeatedClientID(t *testing.T) {
	st := s.store(t)
	ctx := context.Background()
	first, created, err := st.Append(ctx, msg("r1", "c1"))
	require.NoError(t, err)
	require.True(t, created)
	appendAfter, _, err := st.Append(ctx, msg("r1", "c2"))
	require.NoError(t, err)

	// A retry gets a new server id and time; the body and the sender's
	// name may even differ. The sender's id is what makes it a retry.
	retry := msg("r1", "c1")
	retry.Body = "a different body"
	retry.Sender.Name = "Ada, renamed"
	for range 2 {
		got, created, err := st.Append(ctx, retry)
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, first, got)
	}

	assert.Equal(t, []wire.Message{first, appendAfter}, readAll(t, st, "r1"))
	head, err := st.Head(ctx, "r1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), head)
}

// clientIDPerSender is why a client_id is keyed by its sender: another
// participant who sends a user's next (predictable) client_id first must
// not make that user's send a repeat of theirs.
func (s suite) clientIDPerSender(t *testing.T) {
	st := s.store(t)
	squatter := msg("r1", "c1")
	squatter.Sender = wire.User{ID: "u-other", Name: "Other", Role: wire.RolePlace}
	squatter.Body = "sent first by someone else"
	theirs := msg("r1", "c1")
	tests := []struct {
		name    string
		in      store.NewMessage
		created bool
		seq     int64
	}{
		{"another sender takes the client_id first", squatter, true, 1},
		{"the user's own send with it is a new message", theirs, true, 2},
		{"the user's retry finds their message", theirs, false, 2},
		{"the other sender's retry finds theirs", squatter, false, 1},
	}
	for _, tt := range tests {
		got := AssertAppend(t, st, tt.name, tt.in, tt.created, tt.seq)
		assert.Equal(t, tt.in.Body, got.Body, tt.name)
	}
	assert.Equal(t, conntest.SeqRange(1, 2), conntest.Seqs(readAll(t, st, "r1")))
}

func (s suite) clientIDPerRoom(t *testing.T) {
	st := s.store(t)
	ctx := context.Background()
	for _, room := range []string{"a", "b"} {
		m, created, err := st.Append(ctx, msg(room, "same"))
		require.NoError(t, err)
		assert.True(t, created, "room %s", room)
		assert.Equal(t, int64(1), m.Seq)
		assert.Equal(t, room, m.Room)
	}
}

// AssertAppend appends m to st and checks that it returns a message of m's
// sender with seq, created or found as said, and returns that message. name
// says which case it is, in failures. The stores' tests of their migrations
// share it with the suite.
func AssertAppend(t *testing.T, st store.Store, name string, m store.NewMessage, created bool, seq int64) wire.Message {
	t.Helper()
	got, gotCreated, err := st.Append(context.Background(), m)
	require.NoError(t, err, name)
	assert.Equal(t, created, gotCreated, name)
	assert.Equal(t, seq, got.Seq, name)
	assert.Equal(t, m.Sender, got.Sender, name)
	return got
}

// AssertHolds checks that st holds msgs and nothing more in their rooms:
// each room's, in seq order, is what After reads from its start. The
// stores' tests of a migration or a reopen check with it that every
// message is still there.
func AssertHolds(t *testing.T, st store.Store, msgs []wire.Message) {
	t.Helper()
	var rooms []string
	byRoom := map[string][]wire.Message{}
	for _, m := range msgs {
		if _, seen := byRoom[m.Room]; !seen {
			rooms = append(rooms, m.Room)
		}
		byRoom[m.Room] = append(byRoom[m.Room], m)
	}
	for _, room := range rooms {
		// One more than there are, to see one too many.
		got, err := st.After(context.Background(), room, 0, len(msgs)+1)
		require.NoError(t, err)
		assert.Equal(t, byRoom[room], got, "room %s", room)
	}
}

// KeyedByRoom are the messages that the stores' tests of migration 3 write
// in the schema before it, which keys a client_id by room: Ada's c1 and
// Bo's c2 in room a, and Bo's c1 in room b.
func KeyedByRoom() []wire.Message {
	return []wire.Message{
		{Room: "a", Seq: 1, ID: "m1", ClientID: "c1", Sender: Ada, Body: "first", SentAt: 10},
		{Room: "b", Seq: 1, ID: "m2", ClientID: "c1", Sender: Bo, Body: "other room", SentAt: 20},
		{Room: "a", Seq: 2, ID: "m3", ClientID: "c2", Sender: Bo, Body: "second", SentAt: 30},
	}
}

// AssertKeyedBySender checks, on st holding KeyedByRoom's messages after
// migration 3, that a client_id is keyed by its sender: Bo's c1 in room a
// is a message of its own, and repeats find theirs. The appends are sent
// at sentAt; the head of room a is 3 after them.
func AssertKeyedBySender(t *testing.T, st store.Store, sentAt int64) {
	t.Helper()
	for _, tt := range []KeyedBySenderCase{
		{"another sender's old client_id makes a new message", Bo, "m5", true, 3},
		{"the sender's repeat finds the old message", Ada, "m6", false, 1},
		{"a repeat of the new message finds it", Bo, "m7", false, 3},
	} {
		m := store.NewMessage{Room: "a", ID: tt.ID, ClientID: "c1", Sender: tt.Sender, Body: "again", SentAt: sentAt}
		AssertAppend(t, st, tt.Name, m, tt.Created, tt.Seq)
	}
}

// KeyedBySenderCase is an append of client_id c1 to room a, after
// migration 3, and what it returns: a new message or the one found, and
// its seq. A store's test with cases of its own (the PostgreSQL store's,
// of nodes still on the old version) writes them as these.
type KeyedBySenderCase struct {
	Name    string
	Sender  wire.User
	ID      string
	Created bool
	Seq     int64
}
