//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store/storetest"
)

// A database written before migration 5 keeps every message through it,
// with its rowid, its rooms' order and its idempotency keys; only the index
// on id, which nothing read, is gone.
func TestMigration5DropsTheIDIndexAndKeepsEveryMessage(t *testing.T) {
	t.Parallel()
	path, db := migratedTo(t, 4)
	ctx := context.Background()

	// Rooms b, a, c were appended to last in that order; a body of 16 KB
	// (the most a message holds) spills into overflow pages, which the
	// copy must carry too.
	big := strings.Repeat("é", wire.MaxBodyChars)
	var old []wire.Message
	for i, room := range []string{"a", "b", "a", "c", "b", "a", "c", "b"} {
		seq := int64(1)
		for _, m := range old {
			if m.Room == room {
				seq = m.Seq + 1
			}
		}
		body := fmt.Sprintf("message %d", i)
		if i == 2 {
			body = big
		}
		m := wire.Message{Room: room, Seq: seq, ID: fmt.Sprintf("m%d", i), ClientID: fmt.Sprintf("c%d", i),
			Sender: storetest.Ada, Body: body, SentAt: int64(10 * i)}
		old = append(old, m)
		_, err := db.Exec(`INSERT INTO rooms (room, head, activity) VALUES (?, ?, ?)
			ON CONFLICT (room) DO UPDATE SET head = excluded.head, activity = excluded.activity`, m.Room, m.Seq, i+1)
		require.NoError(t, err)
		_, err = db.Exec(`INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.Room, m.Seq, m.ID, m.ClientID, m.Sender.ID, m.Sender.Name, m.Sender.Role, m.Body, m.SentAt)
		require.NoError(t, err)
	}
	rows := func(db *sql.DB) []string {
		rows, err := db.Query("SELECT rowid || ':' || room || '/' || seq || ':' || id || ':' || length(body) FROM messages ORDER BY rowid")
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
	before := rows(db)
	require.Len(t, before, len(old))
	require.NoError(t, db.Close())

	s, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	assert.Equal(t, before, rows(s.reader), "every message keeps its rowid")
	storetest.AssertHolds(t, s, old)

	infos, err := s.Rooms(ctx, nil, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c", "a"}, storetest.RoomNames(t, infos))

	var indexed []string
	cols, err := s.reader.Query(`SELECT i.name || ':' || c.name FROM pragma_index_list('messages') i
		JOIN pragma_index_info(i.name) c ORDER BY i.name, c.seqno`)
	require.NoError(t, err)
	for cols.Next() {
		var col string
		require.NoError(t, cols.Scan(&col))
		indexed = append(indexed, col[strings.Index(col, ":")+1:])
	}
	require.NoError(t, cols.Err())
	assert.ElementsMatch(t, []string{"room", "seq", "room", "sender_id", "client_id"}, indexed,
		"the (room, seq) and (room, sender_id, client_id) keys, and no index on id")

	// Appends go on where the rooms left off, a repeat finds its message,
	// and an id is no longer checked against the others.
	m, created, err := s.Append(ctx, req("c", "new", "m1", "after the migration"))
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, int64(3), m.Seq)
	repeat := req("a", "c2", "m99", "a repeat")
	repeat.Sender = storetest.Ada
	m, created, err = s.Append(ctx, repeat)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, big, m.Body)
	infos, err = s.Rooms(ctx, nil, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "b", "a"}, storetest.RoomNames(t, infos))
}
