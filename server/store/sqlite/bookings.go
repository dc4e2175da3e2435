//go:build !wasm

package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tether/conn/wire"
	"tether/server/store"
)

var _ store.Bookings = (*Store)(nil)

// Bookings and sessions change a few times a minute at most: they are
// written on the writer's connection (one at a time, between the message
// batches, which the pool of one connection serializes) and read on the
// readers'.

const bookingCols = "room, customer_id, customer_name, provider_id, provider_name, provider_role, title, starts_at, ends_at, place, status, created_at, customer_invite, provider_invite, customer_revoked, provider_revoked"

const sessionCols = "id, user_id, user_name, user_role, room, participant, created_at, expires_at, revoked"

type scanner interface{ Scan(dst ...any) error }

func scanBooking(r scanner) (store.Booking, error) {
	var b store.Booking
	var starts, ends, created int64
	err := r.Scan(&b.Room, &b.Customer.ID, &b.Customer.Name, &b.Provider.ID, &b.Provider.Name, &b.Provider.Role,
		&b.Title, &starts, &ends, &b.Place, &b.Status, &created, &b.CustomerInvite, &b.ProviderInvite,
		&b.CustomerRevoked, &b.ProviderRevoked)
	if errors.Is(err, sql.ErrNoRows) {
		return b, store.ErrNotFound
	}
	b.Customer.Role = wire.RoleCustomer
	b.StartsAt, b.EndsAt, b.Created = time.UnixMilli(starts), time.UnixMilli(ends), time.UnixMilli(created)
	return b, err
}

// enter holds the store open for a call; done releases it.
func (s *Store) enter() (done func(), err error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, store.ErrClosed
	}
	return s.mu.RUnlock, nil
}

// PutBooking stores b unless its room has a booking already.
func (s *Store) PutBooking(ctx context.Context, b store.Booking) (store.Booking, bool, error) {
	done, err := s.enter()
	if err != nil {
		return store.Booking{}, false, err
	}
	defer done()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return store.Booking{}, false, fmt.Errorf("failed to store the booking of %s: %w", b.Room, err)
	}
	defer tx.Rollback()
	old, err := scanBooking(tx.QueryRowContext(ctx, "SELECT "+bookingCols+" FROM bookings WHERE room = ?", b.Room))
	switch {
	case err == nil && old.SameDetails(b):
		return old, false, nil
	case err == nil:
		return store.Booking{}, false, store.ErrConflict
	case !errors.Is(err, store.ErrNotFound):
		return store.Booking{}, false, fmt.Errorf("failed to store the booking of %s: %w", b.Room, err)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO bookings ("+bookingCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		b.Room, b.Customer.ID, b.Customer.Name, b.Provider.ID, b.Provider.Name, b.Provider.Role,
		b.Title, b.StartsAt.UnixMilli(), b.EndsAt.UnixMilli(), b.Place, b.Status, b.Created.UnixMilli(),
		b.CustomerInvite, b.ProviderInvite, b.CustomerRevoked, b.ProviderRevoked)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return store.Booking{}, false, fmt.Errorf("failed to store the booking of %s: %w", b.Room, err)
	}
	b.Customer.Role = wire.RoleCustomer
	b.StartsAt, b.EndsAt, b.Created = time.UnixMilli(b.StartsAt.UnixMilli()), time.UnixMilli(b.EndsAt.UnixMilli()), time.UnixMilli(b.Created.UnixMilli())
	return b, true, nil
}

// Booking returns the booking of room.
func (s *Store) Booking(ctx context.Context, room string) (store.Booking, error) {
	done, err := s.enter()
	if err != nil {
		return store.Booking{}, err
	}
	defer done()
	b, err := scanBooking(s.reader.QueryRowContext(ctx, "SELECT "+bookingCols+" FROM bookings WHERE room = ?", room))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("failed to read the booking of %s: %w", room, err)
	}
	return b, err
}

// BookingByInvite returns the booking of an invite's hash and its side.
func (s *Store) BookingByInvite(ctx context.Context, hash []byte) (store.Booking, store.Participant, error) {
	done, err := s.enter()
	if err != nil {
		return store.Booking{}, "", err
	}
	defer done()
	b, err := scanBooking(s.reader.QueryRowContext(ctx,
		"SELECT "+bookingCols+" FROM bookings WHERE customer_invite = ? UNION ALL SELECT "+bookingCols+" FROM bookings WHERE provider_invite = ? LIMIT 1", hash, hash))
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
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.reader.QueryContext(ctx,
		"SELECT "+bookingCols+" FROM bookings WHERE customer_id = ? UNION SELECT "+bookingCols+" FROM bookings WHERE provider_id = ? ORDER BY starts_at, room", userID, userID)
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
	done, err := s.enter()
	if err != nil {
		return store.Booking{}, err
	}
	defer done()
	b, err := scanBooking(s.writer.QueryRowContext(ctx,
		"UPDATE bookings SET status = ? WHERE room = ? RETURNING "+bookingCols, store.StatusCancelled, room))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("failed to cancel the booking of %s: %w", room, err)
	}
	return b, err
}

// RevokeParticipant revokes side p of the booking of room and ends the
// sessions its invite opened.
func (s *Store) RevokeParticipant(ctx context.Context, room string, p store.Participant) (store.Booking, [][]byte, error) {
	if !p.Valid() {
		return store.Booking{}, nil, fmt.Errorf("%q is not a side of a booking", p)
	}
	done, err := s.enter()
	if err != nil {
		return store.Booking{}, nil, err
	}
	defer done()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return store.Booking{}, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	defer tx.Rollback()
	col := "customer_revoked"
	if p == store.Provider {
		col = "provider_revoked"
	}
	b, err := scanBooking(tx.QueryRowContext(ctx, "UPDATE bookings SET "+col+" = 1 WHERE room = ? RETURNING "+bookingCols, room))
	if errors.Is(err, store.ErrNotFound) {
		return b, nil, err
	}
	if err != nil {
		return b, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	rows, err := tx.QueryContext(ctx, "UPDATE sessions SET revoked = 1 WHERE room = ? AND participant = ? AND revoked = 0 RETURNING id", room, string(p))
	if err != nil {
		return b, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	ended := [][]byte{}
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return b, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
		}
		ended = append(ended, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	if err := tx.Commit(); err != nil {
		return b, nil, fmt.Errorf("failed to revoke the %s of %s: %w", p, room, err)
	}
	return b, ended, nil
}

// PutSession stores a new session.
func (s *Store) PutSession(ctx context.Context, se store.Session) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	_, err = s.writer.ExecContext(ctx, "INSERT INTO sessions ("+sessionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		se.ID, se.User.ID, se.User.Name, se.User.Role, se.Room, string(se.Participant),
		se.Created.UnixMilli(), se.Expires.UnixMilli(), se.Revoked)
	if err != nil {
		return fmt.Errorf("failed to store a session of %s: %w", se.Room, err)
	}
	return nil
}

// Session returns the session whose id hashes to id.
func (s *Store) Session(ctx context.Context, id []byte) (store.Session, error) {
	done, err := s.enter()
	if err != nil {
		return store.Session{}, err
	}
	defer done()
	var se store.Session
	var created, expires int64
	var p string
	err = s.reader.QueryRowContext(ctx, "SELECT "+sessionCols+" FROM sessions WHERE id = ?", id).Scan(
		&se.ID, &se.User.ID, &se.User.Name, &se.User.Role, &se.Room, &p, &created, &expires, &se.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return se, store.ErrNotFound
	}
	if err != nil {
		return se, fmt.Errorf("failed to read a session: %w", err)
	}
	se.Participant = store.Participant(p)
	se.Created, se.Expires = time.UnixMilli(created), time.UnixMilli(expires)
	return se, nil
}

// ExtendSession moves a live session's expiry.
func (s *Store) ExtendSession(ctx context.Context, id []byte, expires time.Time) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	res, err := s.writer.ExecContext(ctx, "UPDATE sessions SET expires_at = ? WHERE id = ? AND revoked = 0", expires.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("failed to extend a session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// EndSession revokes a session.
func (s *Store) EndSession(ctx context.Context, id []byte) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	if _, err := s.writer.ExecContext(ctx, "UPDATE sessions SET revoked = 1 WHERE id = ?", id); err != nil {
		return fmt.Errorf("failed to end a session: %w", err)
	}
	return nil
}
