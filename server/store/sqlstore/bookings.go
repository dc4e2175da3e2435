//go:build !wasm

package sqlstore

import (
	"context"
	"fmt"
	"time"

	"tether/server/store"
)

// EnterFunc holds a store open for a call until done; op says what the
// call does, for errors ("failed to " + op).
type EnterFunc func(ctx context.Context, op string) (done func(), err error)

// BookingsSQL are a dialect's statements of the calls Bookings serves.
// Each takes the call's arguments once, in the order the comment says.
type BookingsSQL struct {
	Booking  string // BookingCols of the booking of a room: room
	ByInvite string // BookingCols of the booking one of whose invites is a hash, the customer's first: hash
	Of       string // BookingCols of a user's bookings, by starts_at then room: user id
	Cancel   string // sets a booking's status, returning its BookingCols: status, room

	PutSession    string // inserts SessionCols: SessionValues
	Session       string // SessionCols of a session: id
	ExtendSession string // moves a session's expiry unless it is revoked: expires_at, id
	EndSession    string // revokes a session: id
}

// Bookings serves the calls of store.Bookings whose Go code is the same in
// both SQL stores, around the dialect's statements. PutBooking and
// RevokeParticipant, whose transactions differ, are the stores' own. A
// store embeds it, so its methods are the store's.
type Bookings struct {
	enter       EnterFunc
	read, write Querier
	sql         BookingsSQL
	dialect     Dialect
}

// NewBookings serves the calls on read and write (a store with one pool
// passes it twice), each inside enter.
func NewBookings(d Dialect, q BookingsSQL, enter EnterFunc, read, write Querier) *Bookings {
	return &Bookings{enter: enter, read: read, write: write, sql: q, dialect: d}
}

// Booking returns the booking of room.
func (bs *Bookings) Booking(ctx context.Context, room string) (store.Booking, error) {
	done, err := bs.enter(ctx, "read a booking")
	if err != nil {
		return store.Booking{}, err
	}
	defer done()
	b, err := bs.dialect.ScanBooking(bs.read.QueryRow(ctx, bs.sql.Booking, room))
	return b, Failed(err, "read the booking of "+room)
}

// BookingByInvite returns the booking of an invite's hash and its side.
func (bs *Bookings) BookingByInvite(ctx context.Context, hash []byte) (store.Booking, store.Participant, error) {
	done, err := bs.enter(ctx, "find the booking of an invite")
	if err != nil {
		return store.Booking{}, "", err
	}
	defer done()
	b, err := bs.dialect.ScanBooking(bs.read.QueryRow(ctx, bs.sql.ByInvite, hash))
	if err != nil {
		return store.Booking{}, "", Failed(err, "find the booking of an invite")
	}
	return b, InviteSide(b, hash), nil
}

// BookingsOf returns userID's bookings, the soonest first.
func (bs *Bookings) BookingsOf(ctx context.Context, userID string) ([]store.Booking, error) {
	done, err := bs.enter(ctx, "list the bookings of a user")
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := bs.read.Query(ctx, bs.sql.Of, userID)
	if err != nil {
		return nil, fmt.Errorf("failed to list the bookings of %s: %w", userID, err)
	}
	defer rows.Close()
	out, err := Collect(rows, 0, bs.dialect.ScanBooking)
	if err != nil {
		return nil, fmt.Errorf("failed to list the bookings of %s: %w", userID, err)
	}
	return out, nil
}

// CancelBooking turns the booking of room cancelled.
func (bs *Bookings) CancelBooking(ctx context.Context, room string) (store.Booking, error) {
	done, err := bs.enter(ctx, "cancel a booking")
	if err != nil {
		return store.Booking{}, err
	}
	defer done()
	b, err := bs.dialect.ScanBooking(bs.write.QueryRow(ctx, bs.sql.Cancel, store.StatusCancelled, room))
	return b, Failed(err, "cancel the booking of "+room)
}

// PutSession stores a new session.
func (bs *Bookings) PutSession(ctx context.Context, se store.Session) error {
	done, err := bs.enter(ctx, "store a session")
	if err != nil {
		return err
	}
	defer done()
	if _, err := bs.write.Exec(ctx, bs.sql.PutSession, SessionValues(se)...); err != nil {
		return fmt.Errorf("failed to store a session of %s: %w", se.Room, err)
	}
	return nil
}

// Session returns the session whose id hashes to id.
func (bs *Bookings) Session(ctx context.Context, id []byte) (store.Session, error) {
	done, err := bs.enter(ctx, "read a session")
	if err != nil {
		return store.Session{}, err
	}
	defer done()
	se, err := bs.dialect.ScanSession(bs.read.QueryRow(ctx, bs.sql.Session, id))
	return se, Failed(err, "read a session")
}

// ExtendSession moves a live session's expiry.
func (bs *Bookings) ExtendSession(ctx context.Context, id []byte, expires time.Time) error {
	done, err := bs.enter(ctx, "extend a session")
	if err != nil {
		return err
	}
	defer done()
	n, err := bs.write.Exec(ctx, bs.sql.ExtendSession, expires.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("failed to extend a session: %w", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// EndSession revokes a session.
func (bs *Bookings) EndSession(ctx context.Context, id []byte) error {
	done, err := bs.enter(ctx, "end a session")
	if err != nil {
		return err
	}
	defer done()
	if _, err := bs.write.Exec(ctx, bs.sql.EndSession, id); err != nil {
		return fmt.Errorf("failed to end a session: %w", err)
	}
	return nil
}
