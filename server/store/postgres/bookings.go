//go:build !wasm

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	old, err := dialect.ScanBooking(s.pool.QueryRow(ctx, "SELECT "+bookingCols+" FROM bookings WHERE room = $1", b.Room))
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

// Booking returns the booking of room.
func (s *Store) Booking(ctx context.Context, room string) (store.Booking, error) {
	done, err := s.enter(ctx, "read a booking")
	if err != nil {
		return store.Booking{}, err
	}
	defer done()
	b, err := dialect.ScanBooking(s.pool.QueryRow(ctx, "SELECT "+bookingCols+" FROM bookings WHERE room = $1", room))
	return b, sqlstore.Failed(err, "read the booking of "+room)
}

// BookingByInvite returns the booking of an invite's hash and its side.
func (s *Store) BookingByInvite(ctx context.Context, hash []byte) (store.Booking, store.Participant, error) {
	done, err := s.enter(ctx, "find the booking of an invite")
	if err != nil {
		return store.Booking{}, "", err
	}
	defer done()
	// Should a hash be one booking's customer invite and another's
	// provider invite, the customer's is found, as in the SQLite store.
	b, err := dialect.ScanBooking(s.pool.QueryRow(ctx,
		"SELECT "+bookingCols+" FROM bookings WHERE customer_invite = $1 OR provider_invite = $1"+
			" ORDER BY customer_invite = $1 DESC LIMIT 1", hash))
	if err != nil {
		return store.Booking{}, "", sqlstore.Failed(err, "find the booking of an invite")
	}
	return b, sqlstore.InviteSide(b, hash), nil
}

// BookingsOf returns userID's bookings, the soonest first.
func (s *Store) BookingsOf(ctx context.Context, userID string) ([]store.Booking, error) {
	done, err := s.enter(ctx, "list the bookings of a user")
	if err != nil {
		return nil, err
	}
	defer done()
	// OR returns a booking of a user on both sides once, as SQLite's UNION
	// does; room breaks ties so that the order is the same in both stores.
	rows, err := s.pool.Query(ctx,
		"SELECT "+bookingCols+" FROM bookings WHERE customer_id = $1 OR provider_id = $1 ORDER BY starts_at, room", userID)
	if err != nil {
		return nil, fmt.Errorf("failed to list the bookings of %s: %w", userID, err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, 0, dialect.ScanBooking)
	if err != nil {
		return nil, fmt.Errorf("failed to list the bookings of %s: %w", userID, err)
	}
	return out, nil
}

// CancelBooking turns the booking of room cancelled.
func (s *Store) CancelBooking(ctx context.Context, room string) (store.Booking, error) {
	done, err := s.enter(ctx, "cancel a booking")
	if err != nil {
		return store.Booking{}, err
	}
	defer done()
	b, err := dialect.ScanBooking(s.pool.QueryRow(ctx,
		"UPDATE bookings SET status = $1 WHERE room = $2 RETURNING "+bookingCols, store.StatusCancelled, room))
	return b, sqlstore.Failed(err, "cancel the booking of "+room)
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

// PutSession stores a new session.
func (s *Store) PutSession(ctx context.Context, se store.Session) error {
	done, err := s.enter(ctx, "store a session")
	if err != nil {
		return err
	}
	defer done()
	_, err = s.pool.Exec(ctx, "INSERT INTO sessions ("+sessionCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		sqlstore.SessionValues(se)...)
	if err != nil {
		return fmt.Errorf("failed to store a session of %s: %w", se.Room, err)
	}
	return nil
}

// Session returns the session whose id hashes to id.
func (s *Store) Session(ctx context.Context, id []byte) (store.Session, error) {
	done, err := s.enter(ctx, "read a session")
	if err != nil {
		return store.Session{}, err
	}
	defer done()
	se, err := dialect.ScanSession(s.pool.QueryRow(ctx, "SELECT "+sessionCols+" FROM sessions WHERE id = $1", id))
	if err != nil {
		return store.Session{}, sqlstore.Failed(err, "read a session")
	}
	return se, nil
}

// ExtendSession moves a live session's expiry.
func (s *Store) ExtendSession(ctx context.Context, id []byte, expires time.Time) error {
	done, err := s.enter(ctx, "extend a session")
	if err != nil {
		return err
	}
	defer done()
	tag, err := s.pool.Exec(ctx, "UPDATE sessions SET expires_at = $1 WHERE id = $2 AND NOT revoked", expires.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("failed to extend a session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// EndSession revokes a session.
func (s *Store) EndSession(ctx context.Context, id []byte) error {
	done, err := s.enter(ctx, "end a session")
	if err != nil {
		return err
	}
	defer done()
	if _, err := s.pool.Exec(ctx, "UPDATE sessions SET revoked = true WHERE id = $1", id); err != nil {
		return fmt.Errorf("failed to end a session: %w", err)
	}
	return nil
}
