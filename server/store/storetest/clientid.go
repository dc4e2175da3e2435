//go:build !wasm

package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

	all, err := st.After(ctx, "r1", 0, 100)
	require.NoError(t, err)
	assert.Equal(t, []wire.Message{first, appendAfter}, all)
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
	all, err := st.After(context.Background(), "r1", 0, 100)
	require.NoError(t, err)
	assert.Equal(t, span(1, 2), seqs(all))
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
