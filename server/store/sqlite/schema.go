//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"tether/server/store/sqlstore"
)

// messageColumns are the columns of messages in migrations 1 and 3, which
// changes only its UNIQUE key. A released step is never edited, so neither
// is this: TestReleasedMigrationsAreNeverEdited pins every step's text.
const messageColumns = `
		room        TEXT    NOT NULL REFERENCES rooms (room),
		seq         INTEGER NOT NULL CHECK (seq > 0),
		id          TEXT    NOT NULL UNIQUE,
		client_id   TEXT    NOT NULL,
		sender_id   TEXT    NOT NULL,
		sender_name TEXT    NOT NULL,
		sender_role TEXT    NOT NULL,
		body        TEXT    NOT NULL,
		sent_at     INTEGER NOT NULL,
		PRIMARY KEY (room, seq),`

// migrations are the schema steps in order: migrations[i] takes a database
// from PRAGMA user_version i to i+1. A released step is never edited, only
// followed by a new one, since databases in the field already ran it.
var migrations = []string{
	// 1: rooms and messages. STRICT makes SQLite refuse a value of the wrong
	// type instead of converting it. rooms rows are tiny, so WITHOUT ROWID
	// saves the hidden rowid index; messages keeps a rowid because bodies of
	// up to 16 KB make poor keys in the interior pages of a WITHOUT ROWID
	// b-tree.
	`CREATE TABLE rooms (
		room TEXT    NOT NULL PRIMARY KEY,
		head INTEGER NOT NULL CHECK (head > 0)
	) STRICT, WITHOUT ROWID;

	CREATE TABLE messages (` + messageColumns + `
		UNIQUE (room, client_id)
	) STRICT;`,

	// 2: rooms by activity, for the inbox (GET /api/rooms). activity grows
	// store-wide with each append (Append sets it to the largest plus one),
	// so the room appended to last has the highest and the index lists
	// rooms newest first without a sort. A room already stored takes the
	// rowid of its last message, which grew the same way: the one writer
	// inserts in commit order and nothing is ever deleted.
	`ALTER TABLE rooms ADD COLUMN activity INTEGER NOT NULL DEFAULT 0;
	UPDATE rooms SET activity = (
		SELECT m.rowid FROM messages m WHERE m.room = rooms.room AND m.seq = rooms.head);
	CREATE INDEX rooms_by_activity ON rooms (activity);`,

	// 3: a client_id is its sender's idempotency key: unique per (room,
	// sender_id, client_id), no longer per (room, client_id), so that
	// nobody can claim another user's (predictable) client_ids in a room
	// and make their sends fail. SQLite cannot drop a table's UNIQUE
	// constraint, so messages is copied into a new table, rowids included
	// (they order the messages as they were appended). Every message
	// stays: they were unique per room, so they are per sender too. The
	// copy needs room for a second copy of the table until it commits.
	// The id UNIQUE index is kept as it was.
	`CREATE TABLE messages_v3 (` + messageColumns + `
		UNIQUE (room, sender_id, client_id)
	) STRICT;
	INSERT INTO messages_v3 (rowid, room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
		SELECT rowid, room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at FROM messages;
	DROP TABLE messages;
	ALTER TABLE messages_v3 RENAME TO messages;`,

	// 4: bookings and sessions (contract v2). Times are unix milliseconds;
	// invites and session ids are kept as SHA-256 hashes, never as
	// themselves. A booking's room need not hold a message yet, so no
	// reference to rooms.
	`CREATE TABLE bookings (
		room             TEXT    NOT NULL PRIMARY KEY,
		customer_id      TEXT    NOT NULL,
		customer_name    TEXT    NOT NULL,
		provider_id      TEXT    NOT NULL,
		provider_name    TEXT    NOT NULL,
		provider_role    TEXT    NOT NULL,
		title            TEXT    NOT NULL,
		starts_at        INTEGER NOT NULL,
		ends_at          INTEGER NOT NULL,
		place            TEXT    NOT NULL,
		status           TEXT    NOT NULL,
		created_at       INTEGER NOT NULL,
		customer_invite  BLOB    NOT NULL UNIQUE,
		provider_invite  BLOB    NOT NULL UNIQUE,
		customer_revoked INTEGER NOT NULL DEFAULT 0,
		provider_revoked INTEGER NOT NULL DEFAULT 0
	) STRICT, WITHOUT ROWID;
	CREATE INDEX bookings_by_customer ON bookings (customer_id, starts_at);
	CREATE INDEX bookings_by_provider ON bookings (provider_id, starts_at);

	CREATE TABLE sessions (
		id          BLOB    NOT NULL PRIMARY KEY,
		user_id     TEXT    NOT NULL,
		user_name   TEXT    NOT NULL,
		user_role   TEXT    NOT NULL,
		room        TEXT    NOT NULL REFERENCES bookings (room),
		participant TEXT    NOT NULL,
		created_at  INTEGER NOT NULL,
		expires_at  INTEGER NOT NULL,
		revoked     INTEGER NOT NULL DEFAULT 0
	) STRICT, WITHOUT ROWID;
	CREATE INDEX sessions_by_booking ON sessions (room, participant);`,

	// 5: messages without the UNIQUE index on id. Nothing ever read it
	// (messages are found by (room, seq) and (room, sender_id,
	// client_id)), and the server makes ids unique itself, the time and 64
	// random bits, yet each append paid for a search and an insert in it.
	// As in migration 3, SQLite cannot drop the constraint, so messages is
	// copied, rowids included, and needs room for a second copy until it
	// commits. A WITHOUT ROWID table keyed by (room, seq), to keep a room's
	// messages together, was measured too and cost more CPU per append
	// than this, not less (docs/BENCHMARKS.md): its rows are its keys, so
	// a leaf holds tens of rows where the (room, seq) index holds over a
	// hundred keys, so appends split pages more often and each commit
	// writes more pages to the WAL.
	`CREATE TABLE messages_v5 (
		room        TEXT    NOT NULL REFERENCES rooms (room),
		seq         INTEGER NOT NULL CHECK (seq > 0),
		id          TEXT    NOT NULL,
		client_id   TEXT    NOT NULL,
		sender_id   TEXT    NOT NULL,
		sender_name TEXT    NOT NULL,
		sender_role TEXT    NOT NULL,
		body        TEXT    NOT NULL,
		sent_at     INTEGER NOT NULL,
		PRIMARY KEY (room, seq),
		UNIQUE (room, sender_id, client_id)
	) STRICT;
	INSERT INTO messages_v5 (rowid, room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at)
		SELECT rowid, room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at FROM messages;
	DROP TABLE messages;
	ALTER TABLE messages_v5 RENAME TO messages;`,
}

// migrate brings db up to len(steps) in one transaction and returns the
// version it found. It refuses a database newer than steps: this code would
// not know what the missing steps changed.
func migrate(ctx context.Context, db *sql.DB, steps []string) (from int, err error) {
	// The writer's DSN begins transactions IMMEDIATE, so two processes
	// opening one file at once migrate one after the other.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("failed to begin the migration: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit

	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&from); err != nil {
		return 0, fmt.Errorf("failed to read the schema version: %w", err)
	}
	ran, err := sqlstore.RunSteps(from, steps, func(step string) error {
		_, err := tx.ExecContext(ctx, step)
		return err
	})
	if err != nil || !ran {
		return from, err
	}
	// user_version lives in the database header, which the transaction
	// covers: a failed step leaves the old version along with the old schema.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps))); err != nil {
		return from, fmt.Errorf("failed to write the schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return from, fmt.Errorf("failed to commit the migration: %w", err)
	}
	return from, nil
}
