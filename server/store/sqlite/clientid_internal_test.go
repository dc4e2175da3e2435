//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/store/storetest"
)

// A database written before migration 3 keys client_ids by room: after it,
// every message is still there, in the same rowid order, and a client_id is
// keyed by its sender.
func TestMigration3KeysClientIDsBySenderAndKeepsEveryMessage(t *testing.T) {
	t.Parallel()
	path, db := migratedTo(t, 2)
	ctx := context.Background()

	old := storetest.KeyedByRoom()
	for i, m := range old {
		_, err := db.Exec(`INSERT INTO rooms (room, head, activity) VALUES (?, ?, ?)
			ON CONFLICT (room) DO UPDATE SET head = excluded.head, activity = excluded.activity`, m.Room, m.Seq, i+1)
		require.NoError(t, err)
		_, err = db.Exec(`INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.Room, m.Seq, m.ID, m.ClientID, m.Sender.ID, m.Sender.Name, m.Sender.Role, m.Body, m.SentAt)
		require.NoError(t, err)
	}
	_, err := db.Exec(`INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
		VALUES ('a', 3, 'm4', 'c1', 'u-bo', 'Bo', 'therapist', 'taken', 40)`)
	require.ErrorContains(t, err, "UNIQUE", "the old schema keys client_ids by room")
	rowids := func(db *sql.DB) []string {
		rows, err := db.Query("SELECT rowid || ':' || id FROM messages ORDER BY rowid")
		require.NoError(t, err)
		var out []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		require.NoError(t, rows.Err())
		return out
	}
	before := rowids(db)
	require.NoError(t, db.Close())

	s, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	assert.Equal(t, before, rowids(s.reader), "every message keeps its rowid")
	storetest.AssertHolds(t, s, old)

	storetest.AssertKeyedBySender(t, s, 50)
	head, err := s.Head(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, int64(3), head)
}
