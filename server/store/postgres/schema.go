//go:build !wasm

package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tether/server/store/sqlstore"
)

// migrateLockKey is the advisory lock that makes the nodes started at once
// migrate one after the other ("tether" in ASCII, plus 1).
const migrateLockKey = 0x746574686572_01

// tether_append's text in migrations 1 to 3, where it changes only in
// which message it finds (appendHead ends in that WHERE) and in what it
// sets on the room's row (appendFound ends in that SET). A released step is
// never edited, so neither are these: TestReleasedMigrationsAreNeverEdited
// pins every step's text.
const (
	appendHead = `tether_append(
		p_room text, p_id text, p_client_id text, p_sender_id bytea, p_sender_name bytea,
		p_sender_role text, p_body bytea, p_sent_at bigint, p_node text)
	RETURNS TABLE (seq bigint, id text, sender_id bytea, sender_name bytea, sender_role text,
		body bytea, sent_at bigint, created boolean)
	LANGUAGE plpgsql VOLATILE AS $$
	DECLARE
		v_seq bigint;
	BEGIN
		INSERT INTO rooms AS r (room, head) VALUES (p_room, 0) ON CONFLICT (room) DO NOTHING;
		SELECT r.head + 1 INTO v_seq FROM rooms r WHERE r.room = p_room FOR UPDATE;
		RETURN QUERY SELECT m.seq, m.id, m.sender_id, m.sender_name, m.sender_role, m.body, m.sent_at, false
			FROM messages m WHERE m.room = p_room AND `
	appendFound = `
		IF FOUND THEN
			RETURN;
		END IF;
		UPDATE rooms r SET head = v_seq`
	appendTail = ` WHERE r.room = p_room;
		INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at, node)
			VALUES (p_room, v_seq, p_id, p_client_id, p_sender_id, p_sender_name, p_sender_role, p_body, p_sent_at, p_node);
		INSERT INTO outbox (room, seq) VALUES (p_room, v_seq);
		RETURN QUERY SELECT v_seq, p_id, p_sender_id, p_sender_name, p_sender_role, p_body, p_sent_at, true;
	END
	$$;`
)

// migrations are the schema steps in order: migrations[i] takes a database
// from tether_schema.version i to i+1. A released step is never edited,
// only followed by a new one, since databases in the field already ran it.
var migrations = []string{
	// 1: rooms, messages, the outbox and the fan-out log.
	//
	// Text a user typed (body, sender id and name) is bytea: PostgreSQL text
	// refuses a NUL character, which a body may hold, and the store returns
	// every body byte for byte. rooms.head is 0 only inside the transaction
	// that creates a room (tether_append locks the row before it counts).
	// messages.node names the server that stored the message, so that a
	// node tells its own messages from its peers'.
	//
	// outbox gets one row per message in the message's transaction; the
	// relay moves them into fanout, one row per room, in one transaction at
	// a time, so that fanout.id follows commit order (see fanout.go).
	`CREATE TABLE rooms (
		room text   NOT NULL PRIMARY KEY,
		head bigint NOT NULL CHECK (head >= 0)
	);

	CREATE TABLE messages (
		room        text   NOT NULL REFERENCES rooms (room),
		seq         bigint NOT NULL CHECK (seq > 0),
		id          text   NOT NULL UNIQUE,
		client_id   text   NOT NULL,
		sender_id   bytea  NOT NULL,
		sender_name bytea  NOT NULL,
		sender_role text   NOT NULL,
		body        bytea  NOT NULL,
		sent_at     bigint NOT NULL,
		node        text   NOT NULL,
		PRIMARY KEY (room, seq),
		UNIQUE (room, client_id)
	);

	CREATE TABLE outbox (
		room text   NOT NULL,
		seq  bigint NOT NULL
	);
	-- A queue: every row is deleted within moments, and each relay scans
	-- it whole. Vacuumed every thousand dead rows, not at a fifth of the
	-- table's size, so that it stays a few pages under load.
	ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

	CREATE TABLE fanout (
		id        bigserial   PRIMARY KEY,
		room      text        NOT NULL,
		first_seq bigint      NOT NULL,
		last_seq  bigint      NOT NULL,
		logged_at timestamptz NOT NULL DEFAULT now()
	);

	-- horizon is the last fanout id pruned: a listener whose cursor is below
	-- it has missed entries it can no longer read.
	CREATE TABLE fanout_horizon (
		one     boolean PRIMARY KEY DEFAULT true CHECK (one),
		horizon bigint  NOT NULL
	);
	INSERT INTO fanout_horizon (horizon) VALUES (0);

	-- tether_append stores one message, or finds the room's message with the
	-- same client_id. It locks the room's row before it looks: a node that
	-- appends the same client_id at the same moment waits here, then finds
	-- the other's message instead of failing on the unique key. Each
	-- statement of a volatile function sees what committed before it began,
	-- so the look after the lock sees a message committed while it waited.
	CREATE FUNCTION ` + appendHead + `m.client_id = p_client_id;` + appendFound + appendTail,

	// 2: rooms by activity, for the inbox (GET /api/rooms). tether_append
	// sets a room's activity from a sequence as it stores a message, so the
	// room appended to last has about the highest (two rooms appended at
	// once on two nodes may commit in the other order) and the index lists
	// rooms newest first without a sort. Rooms already stored are numbered
	// by the time of their last message. The index makes every append's
	// update of rooms a non-HOT one: a rooms row is small, and the inbox
	// would otherwise sort every room on each read.
	//
	// The function is replaced with the same body plus activity; nodes of
	// the previous version still running call the new one.
	`CREATE SEQUENCE tether_activity;
	ALTER TABLE rooms ADD COLUMN activity bigint NOT NULL DEFAULT 0;
	UPDATE rooms r SET activity = last.n
		FROM (SELECT m.room, row_number() OVER (ORDER BY m.sent_at, m.room) AS n
			FROM rooms r2 JOIN messages m ON m.room = r2.room AND m.seq = r2.head) last
		WHERE r.room = last.room;
	SELECT setval('tether_activity', (SELECT count(*) FROM rooms) + 1, false);
	CREATE INDEX rooms_by_activity ON rooms (activity);

	CREATE OR REPLACE FUNCTION ` + appendHead + `m.client_id = p_client_id;` + appendFound + `, activity = nextval('tether_activity')` + appendTail,

	// 3: a client_id is its sender's idempotency key: unique per (room,
	// sender_id, client_id), no longer per (room, client_id), so that
	// nobody can claim another user's (predictable) client_ids in a room
	// and make their sends fail. Every stored message stays: they were
	// unique per room, so they are per sender too. Adding and dropping the
	// constraints locks messages, reads included, until the migration
	// commits: the index build takes a few seconds per million messages.
	//
	// tether_append_batch stores a whole batch in one statement, and
	// commits before it answers: a procedure called on its own may COMMIT.
	// A batch therefore holds its rooms' rows only while the server runs
	// it, never while it waits for the node. A pipeline of calls, or one
	// statement of the extended protocol, commits only at the Sync that
	// follows, and a node cut off before its Sync reached the server held
	// the rows until TCP gave up (~2 h). After the COMMIT the session only
	// holds an empty transaction until its Sync.
	//
	// It answers one row of arrays, one element per message in order: the
	// seq and whether it is new, and for a repeated client_id the message
	// stored (NULL for a new one: the node has it). lock_timeout bounds its
	// wait for a room's row: another batch holds one only while it runs, so
	// this fails only a batch stuck behind something else (an operator's
	// lock), at 15 s rather than at the node's 30 s batch timeout. It is
	// set inside, local to the transaction, since a procedure with a SET
	// clause may not COMMIT.
	//
	// tether_append is replaced with the same rule, for the nodes of the
	// previous version still running.
	`ALTER TABLE messages ADD CONSTRAINT messages_room_sender_client_key UNIQUE (room, sender_id, client_id);
	ALTER TABLE messages DROP CONSTRAINT messages_room_client_id_key;

	CREATE OR REPLACE FUNCTION ` + appendHead + `m.sender_id = p_sender_id AND m.client_id = p_client_id;` + appendFound +
		`, activity = nextval('tether_activity')` + appendTail + `

	CREATE PROCEDURE tether_append_batch(
		p_room text[], p_id text[], p_client_id text[], p_sender_id bytea[], p_sender_name bytea[],
		p_sender_role text[], p_body bytea[], p_sent_at bigint[], p_node text,
		INOUT o_seq bigint[] DEFAULT NULL, INOUT o_created boolean[] DEFAULT NULL,
		INOUT o_id text[] DEFAULT NULL, INOUT o_sender_name bytea[] DEFAULT NULL,
		INOUT o_sender_role text[] DEFAULT NULL, INOUT o_body bytea[] DEFAULT NULL,
		INOUT o_sent_at bigint[] DEFAULT NULL)
	LANGUAGE plpgsql AS $$
	DECLARE
		n int := coalesce(array_length(p_room, 1), 0);
		v_seq bigint;
		v_old record;
	BEGIN
		PERFORM set_config('lock_timeout', '15s', true);
		o_seq := array_fill(NULL::bigint, ARRAY[n]);
		o_created := array_fill(NULL::boolean, ARRAY[n]);
		o_id := array_fill(NULL::text, ARRAY[n]);
		o_sender_name := array_fill(NULL::bytea, ARRAY[n]);
		o_sender_role := array_fill(NULL::text, ARRAY[n]);
		o_body := array_fill(NULL::bytea, ARRAY[n]);
		o_sent_at := array_fill(NULL::bigint, ARRAY[n]);
		FOR i IN 1 .. n LOOP
			INSERT INTO rooms AS r (room, head) VALUES (p_room[i], 0) ON CONFLICT (room) DO NOTHING;
			SELECT r.head + 1 INTO v_seq FROM rooms r WHERE r.room = p_room[i] FOR UPDATE;
			SELECT m.seq, m.id, m.sender_name, m.sender_role, m.body, m.sent_at INTO v_old
				FROM messages m
				WHERE m.room = p_room[i] AND m.sender_id = p_sender_id[i] AND m.client_id = p_client_id[i];
			IF FOUND THEN
				o_seq[i] := v_old.seq;
				o_created[i] := false;
				o_id[i] := v_old.id;
				o_sender_name[i] := v_old.sender_name;
				o_sender_role[i] := v_old.sender_role;
				o_body[i] := v_old.body;
				o_sent_at[i] := v_old.sent_at;
				CONTINUE;
			END IF;
			UPDATE rooms r SET head = v_seq, activity = nextval('tether_activity') WHERE r.room = p_room[i];
			INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at, node)
				VALUES (p_room[i], v_seq, p_id[i], p_client_id[i], p_sender_id[i], p_sender_name[i],
					p_sender_role[i], p_body[i], p_sent_at[i], p_node);
			INSERT INTO outbox (room, seq) VALUES (p_room[i], v_seq);
			o_seq[i] := v_seq;
			o_created[i] := true;
		END LOOP;
		COMMIT;
	END
	$$;`,

	// 4: bookings and sessions (contract v2), as in the SQLite store. Times
	// are unix milliseconds, so both stores keep them to the millisecond;
	// invites and session ids are kept as SHA-256 hashes, never as
	// themselves, and the invites are unique so that one finds a single
	// booking. A booking's room need not hold a message yet, so no reference
	// to rooms. The operator's fields are text: unlike a message's, they
	// come from the operator's API, not from what a user typed.
	//
	// The two indexes list a user's bookings by start on either side;
	// sessions_by_booking finds the sessions a revoked side's invite opened.
	`CREATE TABLE bookings (
		room             text    NOT NULL PRIMARY KEY,
		customer_id      text    NOT NULL,
		customer_name    text    NOT NULL,
		provider_id      text    NOT NULL,
		provider_name    text    NOT NULL,
		provider_role    text    NOT NULL,
		title            text    NOT NULL,
		starts_at        bigint  NOT NULL,
		ends_at          bigint  NOT NULL,
		place            text    NOT NULL,
		status           text    NOT NULL,
		created_at       bigint  NOT NULL,
		customer_invite  bytea   NOT NULL UNIQUE,
		provider_invite  bytea   NOT NULL UNIQUE,
		customer_revoked boolean NOT NULL DEFAULT false,
		provider_revoked boolean NOT NULL DEFAULT false
	);
	CREATE INDEX bookings_by_customer ON bookings (customer_id, starts_at);
	CREATE INDEX bookings_by_provider ON bookings (provider_id, starts_at);

	CREATE TABLE sessions (
		id          bytea   NOT NULL PRIMARY KEY,
		user_id     text    NOT NULL,
		user_name   text    NOT NULL,
		user_role   text    NOT NULL,
		room        text    NOT NULL REFERENCES bookings (room),
		participant text    NOT NULL,
		created_at  bigint  NOT NULL,
		expires_at  bigint  NOT NULL,
		revoked     boolean NOT NULL DEFAULT false
	);
	CREATE INDEX sessions_by_booking ON sessions (room, participant);`,
}

// migrate brings the database up to len(steps) in one transaction and
// returns the version it found. It refuses a database newer than steps: this
// code would not know what the missing steps changed.
func migrate(ctx context.Context, conn *pgx.Conn, steps []string) (from int, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("failed to begin the migration: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit

	// Nodes started together: one migrates, the others wait here and then
	// find the schema up to date. Held until the transaction ends.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
		return 0, fmt.Errorf("failed to lock the schema for migration: %w", err)
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS tether_schema (version integer NOT NULL)"); err != nil {
		return 0, fmt.Errorf("failed to create tether_schema: %w", err)
	}
	err = tx.QueryRow(ctx, "SELECT version FROM tether_schema").Scan(&from)
	if errors.Is(err, pgx.ErrNoRows) {
		from = 0
		_, err = tx.Exec(ctx, "INSERT INTO tether_schema (version) VALUES (0)")
	}
	if err != nil {
		return 0, fmt.Errorf("failed to read the schema version: %w", err)
	}
	ran, err := sqlstore.RunSteps(from, steps, func(step string) error {
		// The simple protocol runs a step of several statements at once.
		_, err := tx.Exec(ctx, step, pgx.QueryExecModeSimpleProtocol)
		return err
	})
	if err != nil || !ran {
		return from, err
	}
	if _, err := tx.Exec(ctx, "UPDATE tether_schema SET version = $1", len(steps)); err != nil {
		return from, fmt.Errorf("failed to write the schema version: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return from, fmt.Errorf("failed to commit the migration: %w", err)
	}
	return from, nil
}
