//go:build !wasm

package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tether/conn/wire"
	"tether/server/store"
)

var _ store.Bookings = (*Store)(nil)

// Bookings and sessions change a few times a minute at most: they bypass
// the writer's batches and go straight to the pool, one statement (or one
// short transaction) per call. Their tables are migration 4's.

const bookingCols = "room, customer_id, customer_name, provider_id, provider_name, provider_role, title, starts_at, ends_at, place, status, created_at, customer_invite, provider_invite, customer_revoked, provider_revoked"

const sessionCols = "id, user_id, user_name, user_role, room, participant, created_at, expires_at, revoked"

// scanBooking reads one row of bookingCols; no row is store.ErrNotFound.
func scanBooking(r pgx.Row) (store.Booking, error) {
	var b store.Booking
	var starts, ends, created int64
	err := r.Scan(&b.Room, &b.Customer.ID, &b.Customer.Name, &b.Provider.ID, &b.Provider.Name, &b.Provider.Role,
		&b.Title, &starts, &ends, &b.Place, &b.Status, &created, &b.CustomerInvite, &b.ProviderInvite,
		&b.CustomerRevoked, &b.ProviderRevoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Booking{}, store.ErrNotFound
	}
	if err != nil {
		return store.Booking{}, err
	}
	// The customer's role is not stored: it is always the same.
	b.Customer.Role = wire.RoleCustomer
	b.StartsAt, b.EndsAt, b.Created = time.UnixMilli(starts), time.UnixMilli(ends), time.UnixMilli(created)
	return b, nil
}

// enter holds the store open for a call; done releases it. op says what
// the call does, for errors: "failed to " + op.
func (s *Store) enter(ctx context.Context, op string) (done func(), err error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, store.ErrClosed
	}
	// Checked here: the pool may answer an ended context with an error of
	// its own, and callers match context.Canceled.
	if err := ctx.Err(); err != nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("failed to %s: %w", op, err)
	}
	return s.mu.RUnlock, nil
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
	stored, err := scanBooking(s.pool.QueryRow(ctx,
		"INSERT INTO bookings ("+bookingCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"+
			" ON CONFLICT DO NOTHING RETURNING "+bookingCols,
		b.Room, b.Customer.ID, b.Customer.Name, b.Provider.ID, b.Provider.Name, b.Provider.Role,
		b.Title, b.StartsAt.UnixMilli(), b.EndsAt.UnixMilli(), b.Place, b.Status, b.Created.UnixMilli(),
		b.CustomerInvite, b.ProviderInvite, b.CustomerRevoked, b.ProviderRevoked))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Booking{}, false, fmt.Errorf("failed to store the booking of %s: %w", b.Room, err)
	}
	old, err := scanBooking(s.pool.QueryRow(ctx, "SELECT "+bookingCols+" FROM bookings WHERE room = $1", b.Room))
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
	b, err := scanBooking(s.pool.QueryRow(ctx, "SELECT "+bookingCols+" FROM bookings WHERE room = $1", room))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("failed to read the booking of %s: %w", room, err)
	}
	return b, err
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
	b, err := scanBooking(s.pool.QueryRow(ctx,
		"SELECT "+bookingCols+" FROM bookings WHERE customer_invite = $1 OR provider_invite = $1"+
			" ORDER BY customer_invite = $1 DESC LIMIT 1", hash))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("failed to find the booking of an invite: %w", err)
		}
		return store.Booking{}, "", err
	}
	side := store.Customer
	if bytes.Equal(b.ProviderInvite, hash) {
		side = store.Provider
	}
	return b, side, nil
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
	out := []store.Booking{}
	for rows.Next() {
		b, err := scanBooking(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list the bookings of %s: %w", userID, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
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
	b, err := scanBooking(s.pool.QueryRow(ctx,
		"UPDATE bookings SET status = $1 WHERE room = $2 RETURNING "+bookingCols, store.StatusCancelled, room))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("failed to cancel the booking of %s: %w", room, err)
	}
	return b, err
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
	col := "customer_revoked"
	if p == store.Provider {
		col = "provider_revoked"
	}
	b, err := scanBooking(tx.QueryRow(ctx, "UPDATE bookings SET "+col+" = true WHERE room = $1 RETURNING "+bookingCols, room))
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
		se.ID, se.User.ID, se.User.Name, se.User.Role, se.Room, string(se.Participant),
		se.Created.UnixMilli(), se.Expires.UnixMilli(), se.Revoked)
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
	var se store.Session
	var created, expires int64
	var p string
	err = s.pool.QueryRow(ctx, "SELECT "+sessionCols+" FROM sessions WHERE id = $1", id).Scan(
		&se.ID, &se.User.ID, &se.User.Name, &se.User.Role, &se.Room, &p, &created, &expires, &se.Revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("failed to read a session: %w", err)
	}
	se.Participant = store.Participant(p)
	se.Created, se.Expires = time.UnixMilli(created), time.UnixMilli(expires)
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
