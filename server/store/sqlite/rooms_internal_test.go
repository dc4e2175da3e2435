//go:build !wasm

package sqlite

import (
	"context"
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
	storetest.CheckPlans(t, []storetest.PlanCase{
		{
			Name:    "every room walks the activity index without a sort",
			Query:   roomsSQL,
			Args:    []any{10},
			Want:    []string{"SCAN r USING INDEX rooms_by_activity", "SEARCH m USING"},
			NotWant: []string{"TEMP B-TREE", "SCAN m"},
		},
		{
			Name:    "named rooms are looked up by key",
			Query:   roomsOnlySQL,
			Args:    []any{`["a","b"]`, 10},
			Want:    []string{"SEARCH r USING PRIMARY KEY", "SEARCH m USING"},
			NotWant: []string{"SCAN r", "SCAN m"},
		},
		{
			Name:    "an append reads the largest activity from the index",
			Query:   maxActivitySQL,
			Args:    nil,
			Want:    []string{"rooms_by_activity"},
			NotWant: []string{"SCAN rooms"},
		},
	}, func(t *testing.T, query string, args ...any) []string {
		rows, err := s.writer.Query("EXPLAIN QUERY PLAN "+query, args...)
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
		return plan
	})
}

// A database written before migration 2 lists its rooms in the order they
// were last appended to, and appends after the migration come first.
func TestMigration2OrdersTheExistingRoomsByTheirLastMessage(t *testing.T) {
	t.Parallel()
	path, db := migratedTo(t, 1)
	ctx := context.Background()
	// b, then a, then c were appended to last; a has two messages.
	for i, row := range []struct {
		room string
		seq  int
	}{{"a", 1}, {"b", 1}, {"a", 2}, {"c", 1}} {
		var err error
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

	s := openAt(t, path, Options{})
	rooms := func() []string {
		infos, err := s.Rooms(ctx, nil, 10)
		require.NoError(t, err)
		return storetest.RoomNames(t, infos)
	}
	assert.Equal(t, []string{"c", "a", "b"}, rooms())
	_, _, err := s.Append(ctx, req("b", "new", "b-new", "again"))
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c", "a"}, rooms())
}
