//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tether/server/store"
	"tether/server/store/sqlstore"
)

var _ store.Bookings = (*Store)(nil)

// Bookings and sessions change a few times a minute at most: they are
// written on the writer's connection (one at a time, between the message
// batches, which the pool of one connection serializes) and read on the
// readers'.

// dialect is what sqlstore must know of database/sql.
var dialect = sqlstore.Dialect{NoRows: sql.ErrNoRows}

// The columns, spelled alike in both stores.
const (
	bookingCols = sqlstore.BookingCols
	sessionCols = sqlstore.SessionCols
)

// enter holds the store open for a call; done releases it.
func (s *Store) enter() (done func(), err error) {
	if err := s.gate.Enter(); err != nil {
		return nil, err
	}
	return s.gate.Exit, nil
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
	old, err := dialect.ScanBooking(tx.QueryRowContext(ctx, "SELECT "+bookingCols+" FROM bookings WHERE room = ?", b.Room))
	switch {
	case err == nil && old.SameDetails(b):
		return old, false, nil
	case err == nil:
		return store.Booking{}, false, store.ErrConflict
	case !errors.Is(err, store.ErrNotFound):
		return store.Booking{}, false, fmt.Errorf("failed to store the booking of %s: %w", b.Room, err)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO bookings ("+bookingCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		sqlstore.BookingValues(b)...)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return store.Booking{}, false, fmt.Errorf("failed to store the booking of %s: %w", b.Room, err)
	}
	return sqlstore.AsStored(b), true, nil
}

// Booking returns the booking of room.
func (s *Store) Booking(ctx context.Context, room string) (store.Booking, error) {
	done, err := s.enter()
	if err != nil {
		return store.Booking{}, err
	}
	defer done()
	b, err := dialect.ScanBooking(s.reader.QueryRowContext(ctx, "SELECT "+bookingCols+" FROM bookings WHERE room = ?", room))
	return b, sqlstore.Failed(err, "read the booking of "+room)
}

// BookingByInvite returns the booking of an invite's hash and its side.
func (s *Store) BookingByInvite(ctx context.Context, hash []byte) (store.Booking, store.Participant, error) {
	done, err := s.enter()
	if err != nil {
		return store.Booking{}, "", err
	}
	defer done()
	b, err := dialect.ScanBooking(s.reader.QueryRowContext(ctx,
		"SELECT "+bookingCols+" FROM bookings WHERE customer_invite = ? UNION ALL SELECT "+bookingCols+" FROM bookings WHERE provider_invite = ? LIMIT 1", hash, hash))
	if err != nil {
		return store.Booking{}, "", sqlstore.Failed(err, "find the booking of an invite")
	}
	return b, sqlstore.InviteSide(b, hash), nil
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
	out, err := sqlstore.Collect(rows, 0, dialect.ScanBooking)
	if err != nil {
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
	b, err := dialect.ScanBooking(s.writer.QueryRowContext(ctx,
		"UPDATE bookings SET status = ? WHERE room = ? RETURNING "+bookingCols, store.StatusCancelled, room))
	return b, sqlstore.Failed(err, "cancel the booking of "+room)
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
	b, err := dialect.ScanBooking(tx.QueryRowContext(ctx, "UPDATE bookings SET "+sqlstore.RevokedCol(p)+" = 1 WHERE room = ? RETURNING "+bookingCols, room))
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
	ended, err := sqlstore.Collect(rows, 0, func(r sqlstore.Row) (id []byte, err error) {
		return id, r.Scan(&id)
	})
	rows.Close()
	if err != nil {
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
		sqlstore.SessionValues(se)...)
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
	se, err := dialect.ScanSession(s.reader.QueryRowContext(ctx, "SELECT "+sessionCols+" FROM sessions WHERE id = ?", id))
	return se, sqlstore.Failed(err, "read a session")
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
