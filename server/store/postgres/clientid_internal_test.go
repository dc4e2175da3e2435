//go:build !wasm

package postgres

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/storetest"
)

// A database written before migration 3 keys client_ids by room: after it,
// every message is still there and a client_id is keyed by its sender, for
// this version's batches and for the tether_append of nodes of the previous
// version still running.
func TestMigration3KeysClientIDsBySenderAndKeepsEveryMessage(t *testing.T) {
	t.Parallel()
	url, conn := migratedTo(t, 2)
	ctx := context.Background()

	ada, bo := storetest.Ada, storetest.Bo
	// oldAppend is what a node of the previous version runs.
	oldAppend := func(room, id, clientID string, sender wire.User, body string) (seq int64, created bool) {
		t.Helper()
		err := conn.QueryRow(ctx, "SELECT seq, created FROM tether_append($1, $2, $3, $4, $5, $6, $7, 1, 'old-node')",
			room, id, clientID, []byte(sender.ID), []byte(sender.Name), sender.Role, []byte(body)).Scan(&seq, &created)
		require.NoError(t, err)
		return seq, created
	}
	old := []wire.Message{
		{Room: "a", Seq: 1, ID: "m1", ClientID: "c1", Sender: ada, Body: "first", SentAt: 1},
		{Room: "b", Seq: 1, ID: "m2", ClientID: "c1", Sender: bo, Body: "other room", SentAt: 1},
		{Room: "a", Seq: 2, ID: "m3", ClientID: "c2", Sender: bo, Body: "second", SentAt: 1},
	}
	for _, m := range old {
		seq, created := oldAppend(m.Room, m.ID, m.ClientID, m.Sender, m.Body)
		require.True(t, created)
		require.Equal(t, m.Seq, seq)
	}
	seq, created := oldAppend("a", "m4", "c1", bo, "taken")
	require.False(t, created, "the old schema keys client_ids by room")
	require.Equal(t, int64(1), seq)

	s := openInternal(t, url)
	storetest.AssertHolds(t, s, old)

	tests := []struct {
		name    string
		oldNode bool
		sender  wire.User
		id      string
		created bool
		seq     int64
	}{
		{"another sender's old client_id makes a new message", false, bo, "m5", true, 3},
		{"the sender's repeat finds the old message", false, ada, "m6", false, 1},
		{"a repeat of the new message finds it", false, bo, "m7", false, 3},
		{"an old node's repeat finds the sender's message", true, ada, "m8", false, 1},
		{"an old node's send by a third sender makes a new message", true, wire.User{ID: "u-cy", Name: "Cy", Role: wire.RolePlace}, "m9", true, 4},
	}
	for _, tt := range tests {
		if tt.oldNode {
			seq, created := oldAppend("a", tt.id, "c1", tt.sender, "again")
			assert.Equal(t, tt.created, created, tt.name)
			assert.Equal(t, tt.seq, seq, tt.name)
			continue
		}
		m := store.NewMessage{Room: "a", ID: tt.id, ClientID: "c1", Sender: tt.sender, Body: "again", SentAt: 1}
		storetest.AssertAppend(t, s, tt.name, m, tt.created, tt.seq)
	}
	head, err := s.Head(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, int64(4), head)

	var constraints []string
	rows, err := conn.Query(ctx, "SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass AND contype = 'u' ORDER BY conname")
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		constraints = append(constraints, name)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"messages_id_key", "messages_room_sender_client_key"}, constraints)
}
