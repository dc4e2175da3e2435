//go:build !wasm

package store

import (
	"context"
	"errors"
	"time"

	"tether/conn/wire"
)

// Errors of the Bookings calls.
var (
	// ErrNotFound: no booking (or session) has that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a booking with that room exists with other details.
	ErrConflict = errors.New("a booking with that id exists with other details")
)

// Participant names a side of a booking.
type Participant string

// The two sides of a booking.
const (
	Customer Participant = "customer"
	Provider Participant = "provider"
)

// Valid reports whether p is one of the two sides.
func (p Participant) Valid() bool { return p == Customer || p == Provider }

// Booking statuses.
const (
	StatusActive    = "active"
	StatusCancelled = "cancelled"
)

// Booking is a booked appointment of a customer with a provider (a therapist
// or a place); its room is their chat. Times are kept to the millisecond.
type Booking struct {
	Room string
	// Customer has wire.RoleCustomer; Provider wire.RoleTherapist or
	// wire.RolePlace (the provider's kind).
	Customer wire.User
	Provider wire.User
	Title    string
	StartsAt time.Time
	EndsAt   time.Time
	Place    string
	Status   string
	Created  time.Time
	// The invites are kept as hashes (InviteHash); a revoked side's invite
	// opens no session and its sessions have ended.
	CustomerInvite  []byte
	ProviderInvite  []byte
	CustomerRevoked bool
	ProviderRevoked bool
}

// SameDetails reports whether o says what b says: what the operator gave
// (users, title, times to the millisecond, place), not the state or the
// invites. A booking put again with the same details is the same booking.
func (b *Booking) SameDetails(o Booking) bool {
	return b.Customer == o.Customer && b.Provider == o.Provider && b.Title == o.Title &&
		b.StartsAt.UnixMilli() == o.StartsAt.UnixMilli() && b.EndsAt.UnixMilli() == o.EndsAt.UnixMilli() && b.Place == o.Place
}

// Invite is the hash of a side's invite.
func (b *Booking) Invite(p Participant) []byte {
	if p == Provider {
		return b.ProviderInvite
	}
	return b.CustomerInvite
}

// Revoked reports whether side p has been revoked.
func (b *Booking) Revoked(p Participant) bool {
	if p == Provider {
		return b.ProviderRevoked
	}
	return b.CustomerRevoked
}

// User is the participant of side p.
func (b *Booking) User(p Participant) wire.User {
	if p == Provider {
		return b.Provider
	}
	return b.Customer
}

// Side says which side userID is on, and false when neither.
func (b *Booking) Side(userID string) (Participant, bool) {
	switch userID {
	case b.Customer.ID:
		return Customer, true
	case b.Provider.ID:
		return Provider, true
	}
	return "", false
}

// Session is a browser's sign-in, opened with an invite: its id is kept
// as a hash (the cookie holds the id itself), and it covers the bookings of
// its user (a provider's, all of the provider's bookings).
type Session struct {
	ID          []byte // the hash of the cookie's value
	User        wire.User
	Room        string // the booking whose invite opened it
	Participant Participant
	Created     time.Time
	Expires     time.Time
	Revoked     bool
}

// Bookings keeps the bookings of contract v2, their invites and the
// sessions opened with them. Every store of messages keeps them too, in the
// same database.
type Bookings interface {
	// PutBooking stores b (Status and the revocations as given, normally
	// active and none) unless its room already has a booking: then it
	// returns that booking with created false when its details (users,
	// title, times, place) are b's, and ErrConflict when they are not.
	PutBooking(ctx context.Context, b Booking) (stored Booking, created bool, err error)
	// Booking returns the booking of room, or ErrNotFound.
	Booking(ctx context.Context, room string) (Booking, error)
	// BookingByInvite returns the booking one of whose invites hashes to
	// hash, and which side it is for; ErrNotFound when none.
	BookingByInvite(ctx context.Context, hash []byte) (Booking, Participant, error)
	// BookingsOf returns the bookings userID is a side of, whether revoked
	// or cancelled, the soonest appointment first.
	BookingsOf(ctx context.Context, userID string) ([]Booking, error)
	// CancelBooking turns the booking of room cancelled and returns it;
	// ErrNotFound when there is none. Cancelling again changes nothing.
	CancelBooking(ctx context.Context, room string) (Booking, error)
	// RevokeParticipant revokes side p of the booking of room: its invite
	// opens no more sessions, and the sessions opened with it end. It
	// returns the booking and the ids of the sessions it ended;
	// ErrNotFound when there is no booking.
	RevokeParticipant(ctx context.Context, room string, p Participant) (Booking, [][]byte, error)
	// PutSession stores a new session.
	PutSession(ctx context.Context, s Session) error
	// Session returns the session whose id hashes to id, revoked or
	// expired ones included; ErrNotFound when none.
	Session(ctx context.Context, id []byte) (Session, error)
	// ExtendSession moves the expiry of a live session to expires; it
	// returns ErrNotFound for an unknown or revoked session.
	ExtendSession(ctx context.Context, id []byte, expires time.Time) error
	// EndSession revokes a session (logging out); an unknown one is no error.
	EndSession(ctx context.Context, id []byte) error
}
