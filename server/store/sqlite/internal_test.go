//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/batch"
	"tether/server/store/storetest"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	one := []string{"CREATE TABLE t1 (x INTEGER)"}
	two := append(one[:1:1], "CREATE TABLE t2 (y INTEGER)")
	broken := append(two[:2:2], "CREATE TABLE t3 (z INTEGER)", "THIS IS NOT SQL")
	tests := []struct {
		name string
		// runs are the step lists migrate is called with, in order; a step
		// run twice would fail with "table already exists".
		runs     [][]string
		wantFrom []int
		wantErr  string // of the last run
		want     int    // user_version at the end
	}{
		{name: "a new database runs every step", runs: [][]string{two}, wantFrom: []int{0}, want: 2},
		{name: "an up-to-date database runs nothing", runs: [][]string{two, two}, wantFrom: []int{0, 2}, want: 2},
		{name: "a new step runs alone", runs: [][]string{one, two}, wantFrom: []int{0, 1}, want: 2},
		{name: "a failing step rolls back the whole migration", runs: [][]string{one, broken}, wantFrom: []int{0, 1}, wantErr: "migration 4", want: 1},
		{name: "a database newer than the steps is refused", runs: [][]string{two, one}, wantFrom: []int{0, 2}, wantErr: "schema version 2 is newer than this build (version 1)", want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := openDB(filepath.Join(t.TempDir(), "m.db"), nil)
			require.NoError(t, err)
			defer db.Close()
			for i, steps := range tt.runs {
				from, err := migrate(context.Background(), db, steps)
				if i == len(tt.runs)-1 && tt.wantErr != "" {
					require.ErrorContains(t, err, tt.wantErr)
				} else {
					require.NoError(t, err)
				}
				assert.Equal(t, tt.wantFrom[i], from, "run %d", i)
			}
			var version int
			require.NoError(t, db.QueryRow("PRAGMA user_version").Scan(&version))
			assert.Equal(t, tt.want, version)
			if tt.wantErr == "migration 4" {
				// t2 and t3 went with the failed transaction.
				var n int
				require.NoError(t, db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name IN ('t2', 't3')").Scan(&n))
				assert.Zero(t, n)
			}
		})
	}
}

// migratedTo makes a database file of schema version n, as a tether of
// that version left it, and returns its path and the database, which the
// test closes before it opens a Store on the file.
func migratedTo(t *testing.T, n int) (path string, db *sql.DB) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "tether.db")
	db, err := openDB(path, nil)
	require.NoError(t, err)
	_, err = migrate(context.Background(), db, migrations[:n])
	require.NoError(t, err)
	return path, db
}

// insertOld writes m into db, of schema version 2 to 4, as a tether of that
// version did, and moves its room to activity.
func insertOld(t *testing.T, db *sql.DB, m wire.Message, activity int) {
	t.Helper()
	_, err := db.Exec(`INSERT INTO rooms (room, head, activity) VALUES (?, ?, ?)
		ON CONFLICT (room) DO UPDATE SET head = excluded.head, activity = excluded.activity`, m.Room, m.Seq, activity)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.Room, m.Seq, m.ID, m.ClientID, m.Sender.ID, m.Sender.Name, m.Sender.Role, m.Body, m.SentAt)
	require.NoError(t, err)
}

// query lists the one text column of every row query reads from db.
func query(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	return storetest.Strings(t, rows)
}

// A database written before migration 3 keys client_ids by room: after it,
// every message is still there, in the same rowid order, and a client_id is
// keyed by its sender.
func TestMigration3KeysClientIDsBySenderAndKeepsEveryMessage(t *testing.T) {
	t.Parallel()
	path, db := migratedTo(t, 2)
	ctx := context.Background()

	old := storetest.KeyedByRoom()
	for i, m := range old {
		insertOld(t, db, m, i+1)
	}
	_, err := db.Exec(`INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
		VALUES ('a', 3, 'm4', 'c1', 'u-bo', 'Bo', 'therapist', 'taken', 40)`)
	require.ErrorContains(t, err, "UNIQUE", "the old schema keys client_ids by room")
	const rowids = "SELECT rowid || ':' || id FROM messages ORDER BY rowid"
	before := query(t, db, rowids)
	require.NoError(t, db.Close())

	s := openAt(t, path, Options{})
	assert.Equal(t, before, query(t, s.reader, rowids), "every message keeps its rowid")
	storetest.AssertHolds(t, s, old)

	storetest.AssertKeyedBySender(t, s, 50)
	head, err := s.Head(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, int64(3), head)
}

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
		insertOld(t, db, m, i+1)
	}
	const rows = "SELECT rowid || ':' || room || '/' || seq || ':' || id || ':' || length(body) FROM messages ORDER BY rowid"
	before := query(t, db, rows)
	require.Len(t, before, len(old))
	require.NoError(t, db.Close())

	s := openAt(t, path, Options{})
	assert.Equal(t, before, query(t, s.reader, rows), "every message keeps its rowid")
	storetest.AssertHolds(t, s, old)

	infos, err := s.Rooms(ctx, nil, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c", "a"}, storetest.RoomNames(t, infos))

	indexed := query(t, s.reader, `SELECT c.name FROM pragma_index_list('messages') i
		JOIN pragma_index_info(i.name) c ORDER BY i.name, c.seqno`)
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

func TestTheConnectionsAreSetUpForDurability(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	tests := []struct {
		name   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{name: "the file is in WAL mode", db: s.writer, pragma: "journal_mode", want: "wal"},
		{name: "the writer syncs FULL", db: s.writer, pragma: "synchronous", want: "2"},
		{name: "the writer checks foreign keys", db: s.writer, pragma: "foreign_keys", want: "1"},
		{name: "the writer waits for locks", db: s.writer, pragma: "busy_timeout", want: "5000"},
		{name: "the writer checkpoints a large WAL", db: s.writer, pragma: "wal_autocheckpoint", want: "10000"},
		{name: "the readers wait for locks", db: s.reader, pragma: "busy_timeout", want: "5000"},
		{name: "the readers cannot write", db: s.reader, pragma: "query_only", want: "1"},
		{name: "the schema is at the last migration", db: s.reader, pragma: "user_version", want: "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			require.NoError(t, tt.db.QueryRow("PRAGMA "+tt.pragma).Scan(&got))
			assert.Equal(t, tt.want, got)
		})
	}
	require.Len(t, migrations, 5, "update the user_version row above")
}

// openInternal opens a store for a test that hands batches to apply
// itself: the writer goroutine stays idle while no Append runs.
func openInternal(t *testing.T, opts Options) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "tether.db"), opts)
}

// openAt opens the store at path, with a logger that writes nothing, and
// closes it when the test ends.
func openAt(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := Open(path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

func req(room, clientID, id, body string) store.NewMessage {
	return store.NewMessage{
		Room: room, ID: id, ClientID: clientID, Body: body, SentAt: 1,
		Sender: wire.User{ID: "u1", Name: "Ada", Role: wire.RoleCustomer},
	}
}

// apply hands msgs to s.apply as the writer does, and returns the results
// it set and the seqs of the messages it created, in order.
func apply(s *Store, msgs []store.NewMessage) ([]batch.Result, []int64, error) {
	results := make([]batch.Result, len(msgs))
	created, err := s.apply(msgs, results)
	var seqs []int64
	for _, m := range created {
		seqs = append(seqs, m.Seq)
	}
	return results, seqs, err
}

func TestApply(t *testing.T) {
	t.Parallel()
	type want struct {
		seq     int64
		body    string
		created bool
	}
	tests := []struct {
		name        string
		batch       []store.NewMessage
		wantErr     bool // the batch fails as a whole
		want        []want
		wantCreated []int64 // seqs of the messages created, in order
		wantHead    int64
	}{
		{
			name: "a client_id repeated within one batch is found like a committed one",
			batch: []store.NewMessage{
				req("r", "c1", "id1", "first"),
				req("r", "c1", "id2", "retry"),
				req("r", "c2", "id3", "second"),
			},
			want:        []want{{seq: 1, body: "first", created: true}, {seq: 1, body: "first"}, {seq: 2, body: "second", created: true}},
			wantCreated: []int64{1, 2},
			wantHead:    2,
		},
		{
			name: "a single append is a batch of one",
			batch: []store.NewMessage{
				req("r", "c1", "id1", "first"),
			},
			want:        []want{{seq: 1, body: "first", created: true}},
			wantCreated: []int64{1},
			wantHead:    1,
		},
		{
			name: "a failing batch returns the error (every request gets it) and stores none",
			batch: []store.NewMessage{
				req("r", "c1", "dup", "fine"),
				req("r", "c2", "id2", "refused"),
			},
			wantErr:  true,
			wantHead: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openInternal(t, Options{})
			// The writer goroutine is idle while no Append runs: calling
			// apply here is the only use of the writer connection.
			// A trigger makes a later insert of a batch fail: no message
			// the writer makes breaks a constraint of the schema.
			_, err := s.writer.Exec(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON messages
				WHEN NEW.body = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END`)
			require.NoError(t, err)
			results, created, err := apply(s, tt.batch)
			if tt.wantErr {
				assert.Error(t, err)
			} else {
				require.NoError(t, err)
				for i, res := range results {
					assert.Equal(t, tt.want[i].seq, res.Msg.Seq, "request %d", i)
					assert.Equal(t, tt.want[i].body, res.Msg.Body, "request %d", i)
					assert.Equal(t, tt.want[i].created, res.Created, "request %d", i)
				}
				assert.Equal(t, tt.wantCreated, created)
			}
			head, err := s.Head(context.Background(), "r")
			require.NoError(t, err)
			assert.Equal(t, tt.wantHead, head)

			// A batch of only repeats finds them and creates nothing.
			if tt.wantHead > 0 {
				results, created, err := apply(s, []store.NewMessage{req("r", "c1", "id9", "again")})
				require.NoError(t, err)
				assert.False(t, results[0].Created)
				assert.Equal(t, "first", results[0].Msg.Body)
				assert.Empty(t, created, "a batch of repeats created a message")
			}
		})
	}
}

// The writer remembers each room's head. Should the database move without
// it (a second process on the same file), the stale head collides with the
// stored seq: that batch fails, storing nothing, and the writer reads the
// heads again, so the next append takes the right seq.
func TestTheWriterForgetsTheHeadsItKnowsWhenABatchFails(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	commitOne := func(m store.NewMessage) (batch.Result, error) {
		results, _, err := apply(s, []store.NewMessage{m})
		return results[0], err
	}
	res, err := commitOne(req("r", "c1", "id1", "first"))
	require.NoError(t, err)
	require.Equal(t, int64(1), res.Msg.Seq)

	_, err = s.writer.Exec(`UPDATE rooms SET head = 2 WHERE room = 'r';
		INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
		VALUES ('r', 2, 'elsewhere', 'c-other', 'u2', 'Bo', 'therapist', 'written elsewhere', 1)`)
	require.NoError(t, err)

	_, err = commitOne(req("r", "c2", "id2", "collides"))
	require.ErrorContains(t, err, "r/2")
	res, err = commitOne(req("r", "c3", "id3", "after"))
	require.NoError(t, err)
	assert.Equal(t, int64(3), res.Msg.Seq)
	assert.True(t, res.Created)

	msgs, err := s.After(context.Background(), "r", 0, 10)
	require.NoError(t, err)
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, m.Body)
	}
	assert.Equal(t, []string{"first", "written elsewhere", "after"}, bodies)
}

// A batch moves each room's row once, after its last message: the heads
// and the rooms' order come out as if each append had moved it.
func TestABatchMovesEachRoomToItsLastMessage(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	ctx := context.Background()
	rooms := func() []string {
		infos, err := s.Rooms(ctx, nil, 10)
		require.NoError(t, err)
		return storetest.RoomNames(t, infos)
	}
	_, _, err := apply(s, []store.NewMessage{
		req("old", "c1", "id1", "before"), req("quiet", "c1", "id2", "before"),
	})
	require.NoError(t, err)
	_, created, err := apply(s, []store.NewMessage{
		req("old", "c2", "id3", "1"), req("new", "c1", "id4", "2"), req("alone", "c1", "id5", "3"),
		req("old", "c3", "id6", "4"), req("new", "c2", "id7", "5"), req("new", "c1", "id8", "a repeat"),
	})
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 1, 1, 3, 2}, created)
	assert.Equal(t, []string{"new", "old", "alone", "quiet"}, rooms())
	for room, want := range map[string]int64{"old": 3, "new": 2, "alone": 1, "quiet": 1} {
		head, err := s.Head(ctx, room)
		require.NoError(t, err)
		assert.Equal(t, want, head, "room %s", room)
	}
	_, _, err = apply(s, []store.NewMessage{req("quiet", "c2", "id9", "later")})
	require.NoError(t, err)
	assert.Equal(t, []string{"quiet", "new", "old", "alone"}, rooms())
}

func TestTheCheckpointerRunsBesideTheWriterUntilClose(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "tether.db"), Options{
		CheckpointEvery: 5 * time.Millisecond,
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	for i := range 50 {
		_, _, err := s.Append(context.Background(), store.NewMessage{
			Room: "r", ID: fmt.Sprint("id", i), ClientID: fmt.Sprint("c", i), Body: "b", SentAt: 1,
			Sender: wire.User{ID: "u1", Name: "Ada", Role: wire.RoleCustomer},
		})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return s.checkpoints.Load() > 0 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case <-s.checkpointerDone:
	default:
		t.Fatal("Close returned with the checkpointer running")
	}
}

func TestNoCheckpointerRunsWhenTurnedOff(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{CheckpointEvery: -1})
	assert.Nil(t, s.checkpointer)
}
