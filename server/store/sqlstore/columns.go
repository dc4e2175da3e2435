//go:build !wasm

package sqlstore

import (
	"bytes"
	"errors"
	"time"

	"tether/conn/wire"
	"tether/server/store"
)

// BookingCols are the columns of a booking, in ScanBooking's and
// BookingValues' order; SessionCols are a session's, in ScanSession's and
// SessionValues' order. Both stores name them alike.
const (
	BookingCols = "room, customer_id, customer_name, provider_id, provider_name, provider_role, title, starts_at, ends_at, place, status, created_at, customer_invite, provider_invite, customer_revoked, provider_revoked"
	SessionCols = "id, user_id, user_name, user_role, room, participant, created_at, expires_at, revoked"
)

// Dialect is what the shared code must know of a store's driver.
type Dialect struct {
	// NoRows is what scanning a row that is not there returns:
	// sql.ErrNoRows or pgx.ErrNoRows.
	NoRows error
}

// ScanBooking reads one row of BookingCols; no row is store.ErrNotFound.
func (d Dialect) ScanBooking(r Row) (store.Booking, error) {
	var b store.Booking
	var starts, ends, created int64
	err := r.Scan(&b.Room, &b.Customer.ID, &b.Customer.Name, &b.Provider.ID, &b.Provider.Name, &b.Provider.Role,
		&b.Title, &starts, &ends, &b.Place, &b.Status, &created, &b.CustomerInvite, &b.ProviderInvite,
		&b.CustomerRevoked, &b.ProviderRevoked)
	if errors.Is(err, d.NoRows) {
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

// AsStored is b as ScanBooking reads it back: with the customer's role and
// its times to the millisecond.
func AsStored(b store.Booking) store.Booking {
	b.Customer.Role = wire.RoleCustomer
	b.StartsAt = time.UnixMilli(b.StartsAt.UnixMilli())
	b.EndsAt = time.UnixMilli(b.EndsAt.UnixMilli())
	b.Created = time.UnixMilli(b.Created.UnixMilli())
	return b
}

// BookingValues are b's values for BookingCols, to insert.
func BookingValues(b store.Booking) []any {
	return []any{b.Room, b.Customer.ID, b.Customer.Name, b.Provider.ID, b.Provider.Name, b.Provider.Role,
		b.Title, b.StartsAt.UnixMilli(), b.EndsAt.UnixMilli(), b.Place, b.Status, b.Created.UnixMilli(),
		b.CustomerInvite, b.ProviderInvite, b.CustomerRevoked, b.ProviderRevoked}
}

// InviteSide is the side of b whose invite hashes to hash; the customer's
// unless it is the provider's.
func InviteSide(b store.Booking, hash []byte) store.Participant {
	if bytes.Equal(b.ProviderInvite, hash) {
		return store.Provider
	}
	return store.Customer
}

// RevokedCol is the column that says whether side p is revoked.
func RevokedCol(p store.Participant) string {
	if p == store.Provider {
		return "provider_revoked"
	}
	return "customer_revoked"
}

// ScanSession reads one row of SessionCols; no row is store.ErrNotFound.
func (d Dialect) ScanSession(r Row) (store.Session, error) {
	var se store.Session
	var created, expires int64
	var p string
	err := r.Scan(&se.ID, &se.User.ID, &se.User.Name, &se.User.Role, &se.Room, &p, &created, &expires, &se.Revoked)
	if errors.Is(err, d.NoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, err
	}
	se.Participant = store.Participant(p)
	se.Created, se.Expires = time.UnixMilli(created), time.UnixMilli(expires)
	return se, nil
}

// SessionValues are se's values for SessionCols, to insert.
func SessionValues(se store.Session) []any {
	return []any{se.ID, se.User.ID, se.User.Name, se.User.Role, se.Room, string(se.Participant),
		se.Created.UnixMilli(), se.Expires.UnixMilli(), se.Revoked}
}
