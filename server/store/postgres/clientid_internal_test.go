//go:build !wasm

package postgres

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
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

	// oldAppend is what a node of the previous version runs.
	oldAppend := func(room, id, clientID string, sender wire.User, body string, sentAt int64) (seq int64, created bool) {
		t.Helper()
		err := conn.QueryRow(ctx, "SELECT seq, created FROM tether_append($1, $2, $3, $4, $5, $6, $7, $8, 'old-node')",
			room, id, clientID, []byte(sender.ID), []byte(sender.Name), sender.Role, []byte(body), sentAt).Scan(&seq, &created)
		require.NoError(t, err)
		return seq, created
	}
	old := storetest.KeyedByRoom()
	for _, m := range old {
		seq, created := oldAppend(m.Room, m.ID, m.ClientID, m.Sender, m.Body, m.SentAt)
		require.True(t, created)
		require.Equal(t, m.Seq, seq)
	}
	seq, created := oldAppend("a", "m4", "c1", storetest.Bo, "taken", 1)
	require.False(t, created, "the old schema keys client_ids by room")
	require.Equal(t, int64(1), seq)

	s := openInternal(t, url)
	storetest.AssertHolds(t, s, old)

	storetest.AssertKeyedBySender(t, s, 1)
	// And the tether_append of the nodes still on the previous version.
	for _, tt := range []storetest.KeyedBySenderCase{
		{Name: "an old node's repeat finds the sender's message", Sender: storetest.Ada, ID: "m8", Created: false, Seq: 1},
		{Name: "an old node's send by a third sender makes a new message", Sender: wire.User{ID: "u-cy", Name: "Cy", Role: wire.RolePlace}, ID: "m9", Created: true, Seq: 4},
	} {
		seq, created := oldAppend("a", tt.ID, "c1", tt.Sender, "again", 1)
		assert.Equal(t, tt.Created, created, tt.Name)
		assert.Equal(t, tt.Seq, seq, tt.Name)
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
