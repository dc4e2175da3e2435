//go:build !wasm

package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tether/server/store"
	"tether/server/store/sqlstore"
)

var _ store.Bookings = (*Store)(nil)

// Bookings and sessions change a few times a minute at most: they bypass
// the writer's batches and go straight to the pool, one statement (or one
// short transaction) per call. Their tables are migration 4's.

// dialect is what sqlstore must know of pgx.
var dialect = sqlstore.Dialect{NoRows: pgx.ErrNoRows}

// The columns, spelled alike in both stores.
const (
	bookingCols = sqlstore.BookingCols
	sessionCols = sqlstore.SessionCols
)

// bookingsSQL are the statements of the calls sqlstore.Bookings serves.
var bookingsSQL = sqlstore.BookingsSQL{
	Booking: "SELECT " + bookingCols + " FROM bookings WHERE room = $1",
	// Should a hash be one booking's customer invite and another's
	// provider invite, the customer's is found, as in the SQLite store.
	ByInvite: "SELECT " + bookingCols + " FROM bookings WHERE customer_invite = $1 OR provider_invite = $1" +
		" ORDER BY customer_invite = $1 DESC LIMIT 1",
	// OR returns a booking of a user on both sides once, as SQLite's UNION
	// does; room breaks ties so that the order is the same in both stores.
	Of:     "SELECT " + bookingCols + " FROM bookings WHERE customer_id = $1 OR provider_id = $1 ORDER BY starts_at, room",
	Cancel: "UPDATE bookings SET status = $1 WHERE room = $2 RETURNING " + bookingCols,

	PutSession:    "INSERT INTO sessions (" + sessionCols + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	Session:       "SELECT " + sessionCols + " FROM sessions WHERE id = $1",
	ExtendSession: "UPDATE sessions SET expires_at = $1 WHERE id = $2 AND NOT revoked",
	EndSession:    "UPDATE sessions SET revoked = true WHERE id = $1",
}

// pgxQuerier is the pool as a sqlstore.Querier.
type pgxQuerier struct{ pool *pgxpool.Pool }

func (q pgxQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.pool.QueryRow(ctx, query, args...)
}

func (q pgxQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.ResultSet, error) {
	return q.pool.Query(ctx, query, args...)
}

func (q pgxQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.pool.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// PutBooking stores b unless its room has a booking already.
//
// It inserts first and reads after, rather than the other way round, so
// that two nodes putting the same room at once agree: the insert of one
// waits for the other's to commit and then does nothing, and the read that
// follows, a statement of its own, sees the row that won. ON CONFLICT names
// no index, so that a racing twin's invites, unique too, are skipped as
// well instead of failing it.
func (s *Store) PutBooking(ctx context.Context, b store.Booking) (store.Booking, bool, error) {
	done, err := s.enter(ctx, "store a booking")
	if err != nil {
		return store.Booking{}, false, err
	}
	defer done()
	stored, err := dialect.ScanBooking(s.pool.QueryRow(ctx,
		"INSERT INTO bookings ("+bookingCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"+
			" ON CONFLICT DO NOTHING RETURNING "+bookingCols, sqlstore.BookingValues(b)...))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Booking{}, false, fmt.Errorf("failed to store the booking of %s: %w", b.Room, err)
	}
	old, err := dialect.ScanBooking(s.pool.QueryRow(ctx, bookingsSQL.Booking, b.Room))
	switch {
	case err == nil && old.SameDetails(b):
		return old, false, nil
	case err == nil:
		return store.Booking{}, false, store.ErrConflict
	case errors.Is(err, store.ErrNotFound):
		// Nothing was inserted, yet the room has no booking: an invite is
		// another room's. Bookings are never deleted, so this is no race.
		return store.Booking{}, false, fmt.Errorf("the booking of %s has an invite hash of another booking", b.Room)
	default:
		return store.Booking{}, false, fmt.Errorf("failed to store the booking of %s: %w", b.Room, err)
	}
}

// RevokeParticipant revokes side p of the booking of room and ends the
// sessions its invite opened, in one transaction: a session is never left
// live behind a revoked side.
func (s *Store) RevokeParticipant(ctx context.Context, room string, p store.Participant) (store.Booking, [][]byte, error) {
	if !p.Valid() {
		return store.Booking{}, nil, fmt.Errorf("%q is not a side of a booking", p)
	}
	done, err := s.enter(ctx, "revoke a participant")
	if err != nil {
		return store.Booking{}, nil, err
	}
	defer done()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return store.Booking{}, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	b, err := dialect.ScanBooking(tx.QueryRow(ctx, "UPDATE bookings SET "+sqlstore.RevokedCol(p)+" = true WHERE room = $1 RETURNING "+bookingCols, room))
	if errors.Is(err, store.ErrNotFound) {
		return b, nil, err
	}
	if err != nil {
		return store.Booking{}, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	rows, err := tx.Query(ctx, "UPDATE sessions SET revoked = true WHERE room = $1 AND participant = $2 AND NOT revoked RETURNING id", room, string(p))
	if err != nil {
		return store.Booking{}, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return store.Booking{}, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	if ended == nil {
		ended = [][]byte{}
	}
	if err := tx.Commit(ctx); err != nil {
		return store.Booking{}, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	return b, ended, nil
}
