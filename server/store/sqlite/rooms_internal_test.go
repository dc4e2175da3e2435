//go:build !wasm

package sqlite

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/store/storetest"
)

// The inbox must not slow down as rooms pile up: the rooms queries read
// indexes, never the whole table.
func TestTheRoomsQueriesUseTheIndexes(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	tests := []struct {
		name    string
		query   string
		args    []any
		want    []string
		notWant []string
	}{
		{
			name:    "every room walks the activity index without a sort",
			query:   roomsSQL,
			args:    []any{10},
			want:    []string{"SCAN r USING INDEX rooms_by_activity", "SEARCH m USING"},
			notWant: []string{"TEMP B-TREE", "SCAN m"},
		},
		{
			name:    "named rooms are looked up by key",
			query:   roomsOnlySQL,
			args:    []any{`["a","b"]`, 10},
			want:    []string{"SEARCH r USING PRIMARY KEY", "SEARCH m USING"},
			notWant: []string{"SCAN r", "SCAN m"},
		},
		{
			name:    "an append reads the largest activity from the index",
			query:   maxActivitySQL,
			args:    nil,
			want:    []string{"rooms_by_activity"},
			notWant: []string{"SCAN rooms"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.writer.Query("EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			require.NoError(t, err)
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
				plan = append(plan, detail)
			}
			require.NoError(t, rows.Err())
			storetest.AssertPlan(t, plan, tt.want, tt.notWant)
		})
	}
}

// A database written before migration 2 lists its rooms in the order they
// were last appended to, and appends after the migration come first.
func TestMigration2OrdersTheExistingRoomsByTheirLastMessage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tether.db")
	db, err := openDB(path, nil)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = migrate(ctx, db, migrations[:1])
	require.NoError(t, err)
	// b, then a, then c were appended to last; a has two messages.
	for i, row := range []struct {
		room string
		seq  int
	}{{"a", 1}, {"b", 1}, {"a", 2}, {"c", 1}} {
		if row.seq == 1 {
			_, err = db.Exec("INSERT INTO rooms (room, head) VALUES (?, 1)", row.room)
		} else {
			_, err = db.Exec("UPDATE rooms SET head = ? WHERE room = ?", row.seq, row.room)
		}
		require.NoError(t, err)
		_, err = db.Exec(`INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
			VALUES (?, ?, ?, ?, 'u1', 'Ada', 'customer', 'hi', 1)`, row.room, row.seq, row.room+string(rune('0'+i)), "c"+string(rune('0'+i)))
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	s, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	rooms := func() []string {
		infos, err := s.Rooms(ctx, nil, 10)
		require.NoError(t, err)
		return storetest.RoomNames(t, infos)
	}
	assert.Equal(t, []string{"c", "a", "b"}, rooms())
	_, _, err = s.Append(ctx, req("b", "new", "b-new", "again"))
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c", "a"}, rooms())
}
