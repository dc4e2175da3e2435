//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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

// bookingsSQL are the statements of the calls sqlstore.Bookings serves.
var bookingsSQL = sqlstore.BookingsSQL{
	Booking: "SELECT " + bookingCols + " FROM bookings WHERE room = ?",
	// ?1 twice: the one argument, the hash. The customer's invite first.
	ByInvite: "SELECT " + bookingCols + " FROM bookings WHERE customer_invite = ?1 UNION ALL SELECT " + bookingCols + " FROM bookings WHERE provider_invite = ?1 LIMIT 1",
	Of:       "SELECT " + bookingCols + " FROM bookings WHERE customer_id = ?1 UNION SELECT " + bookingCols + " FROM bookings WHERE provider_id = ?1 ORDER BY starts_at, room",
	Cancel:   "UPDATE bookings SET status = ? WHERE room = ? RETURNING " + bookingCols,

	PutSession:    "INSERT INTO sessions (" + sessionCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	Session:       "SELECT " + sessionCols + " FROM sessions WHERE id = ?",
	ExtendSession: "UPDATE sessions SET expires_at = ? WHERE id = ? AND revoked = 0",
	EndSession:    "UPDATE sessions SET revoked = 1 WHERE id = ?",
}

// enterCall is enter as sqlstore.Bookings calls it. The context is not
// checked here: database/sql checks it before it runs a statement.
func (s *Store) enterCall(context.Context, string) (done func(), err error) {
	return s.enter()
}

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
	old, err := dialect.ScanBooking(tx.QueryRowContext(ctx, bookingsSQL.Booking, b.Room))
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
