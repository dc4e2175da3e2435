//go:build !wasm

package postgres

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/store"
	"tether/server/store/postgres/pgtest"
	"tether/server/store/storetest"
)

func openInternal(t *testing.T, url string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, url, Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// migratedTo makes a database of schema version n, as nodes of that version
// left it, and returns its URL and a connection to it.
func migratedTo(t *testing.T, n int) (url string, conn *pgx.Conn) {
	t.Helper()
	url = pgtest.NewDatabase(t)
	conn = pgtest.Connect(t, url)
	_, err := migrate(context.Background(), conn, migrations[:n])
	require.NoError(t, err)
	return url, conn
}

// A database written before migration 2 lists its rooms by the time of
// their last message, and the replaced tether_append moves a room to the
// front.
func TestMigration2OrdersTheExistingRoomsByTheirLastMessage(t *testing.T) {
	t.Parallel()
	url, conn := migratedTo(t, 1)
	ctx := context.Background()
	// Last messages: b at 20, c at 30, a at 40 (a's first is at 10).
	for i, m := range []struct {
		room   string
		sentAt int64
	}{{"a", 10}, {"b", 20}, {"c", 30}, {"a", 40}} {
		_, err := conn.Exec(ctx, "SELECT * FROM tether_append($1, $2, $3, 'u1', 'Ada', 'customer', 'hi', $4, 'old-node')",
			m.room, m.room+string(rune('0'+i)), "c"+string(rune('0'+i)), m.sentAt)
		require.NoError(t, err)
	}

	s := openInternal(t, url)
	names := func() []string {
		infos, err := s.Rooms(ctx, nil, 10)
		require.NoError(t, err)
		return storetest.RoomNames(t, infos)
	}
	assert.Equal(t, []string{"a", "c", "b"}, names())
	_, created, err := s.Append(ctx, store.NewMessage{Room: "b", ID: "b-new", ClientID: "new", Body: "again", SentAt: 1})
	require.NoError(t, err)
	require.True(t, created)
	assert.Equal(t, []string{"b", "a", "c"}, names(), "an append after the migration comes first")
}

// The inbox must not slow down as rooms pile up: with many rooms, the
// planner walks the activity index instead of sorting every room.
func TestTheRoomsQueriesUseTheIndexes(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	openInternal(t, url)
	ctx := context.Background()
	conn := pgtest.Connect(t, url)
	_, err := conn.Exec(ctx, `
		INSERT INTO rooms (room, head, activity) SELECT 'r' || n, 1, n FROM generate_series(1, 20000) n;
		INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at, node)
			SELECT 'r' || n, 1, 'm' || n, 'c', 'u', 'U', 'customer', 'hi', n, 'x' FROM generate_series(1, 20000) n;
		ANALYZE rooms; ANALYZE messages;`)
	require.NoError(t, err)
	storetest.CheckPlans(t, []storetest.PlanCase{
		{Name: "every room walks the activity index", Query: roomsSQL, Args: []any{100},
			Want: []string{"Index Scan Backward using rooms_by_activity"}, NotWant: []string{"Seq Scan", "Sort"}},
		{Name: "named rooms are looked up by key", Query: roomsOnlySQL, Args: []any{100, []string{"r5", "r7"}},
			Want: []string{"rooms_pkey"}, NotWant: []string{"Seq Scan"}},
	}, func(t *testing.T, query string, args ...any) []string {
		rows, err := conn.Query(ctx, "EXPLAIN "+query, args...)
		require.NoError(t, err)
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return plan
	})
}
