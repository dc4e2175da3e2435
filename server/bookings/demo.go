//go:build !wasm

package bookings

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tether/conn/wire"
	"tether/server/store"
)

// Dev mode's demo: a page opened with ?as=customer|therapist&name=N gets a
// booking for its room and a session through the same machinery as a
// booking's invite link, so the demo shows what production does (the
// booking in the header, tokens renewed by the session's cookie).

// The demo booking's other side when the visitor is one side of it: the
// names `make run` links to.
var (
	demoCustomer = Party{ID: "customer-casey", Name: "Casey"}
	demoProvider = Party{ID: "therapist-taylor", Name: "Taylor", Kind: wire.RoleTherapist}
)

// DemoRoom is the demo's booking (app.DemoRoom, which `make run` links
// to); a provider's demo session without a room is opened in it.
const DemoRoom = "demo-booking"

// DemoTitle and DemoPlace are a demo booking's details.
const (
	DemoTitle = "Demo session, 60 min"
	DemoPlace = "Demo practice, Main St 5"
)

// EnsureDemo returns the booking of room, creating a demo booking for it
// when it has none: the visitor on their side (a customer, or a therapist
// or place as the provider) and the demo's Casey or Taylor on the other,
// tomorrow at 10:00 UTC for an hour. A booking the room already has is
// returned as it is, whoever is in it.
func (s *Service) EnsureDemo(ctx context.Context, room string, visitor wire.User) (store.Booking, error) {
	b, err := s.store.Booking(ctx, room)
	if !errors.Is(err, store.ErrNotFound) {
		return b, err
	}
	customer, provider := demoCustomer, demoProvider
	if visitor.Role == wire.RoleCustomer {
		customer = Party{ID: visitor.ID, Name: visitor.Name}
		if customer.ID == provider.ID {
			provider.ID += "-demo"
		}
	} else {
		provider = Party{ID: visitor.ID, Name: visitor.Name, Kind: visitor.Role}
		if customer.ID == provider.ID {
			customer.ID += "-demo"
		}
	}
	day := s.now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	starts := day.Add(10 * time.Hour)
	_, _, _, err = s.Create(ctx, Request{
		ID: room, Customer: customer, Provider: provider, Title: DemoTitle, Place: DemoPlace,
		StartsAt: starts.Format(time.RFC3339), EndsAt: starts.Add(time.Hour).Format(time.RFC3339),
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return store.Booking{}, err
	}
	// Created now, or by another page at the same moment: read what won.
	return s.store.Booking(ctx, room)
}

// OpenDemo opens a dev-mode session for visitor in the booking of room
// (EnsureDemo makes one if need be); a provider without a room gets theirs
// in DemoRoom's. It answers as Open does. Only a dev node may call it: the
// visitor names themselves.
func (s *Sessions) OpenDemo(ctx context.Context, visitor wire.User, room string) (cookie string, tok Token, err error) {
	if !s.auth.Dev() {
		return "", Token{}, errors.New("demo sessions exist in dev mode only")
	}
	side := store.Customer
	if visitor.Role != wire.RoleCustomer {
		side = store.Provider
	}
	if room == "" && side == store.Customer {
		return "", Token{}, fmt.Errorf("%w: a customer's demo session needs a room", ErrInvalid)
	}
	if room == "" {
		room = DemoRoom
	}
	if _, err := s.svc.EnsureDemo(ctx, room, visitor); err != nil {
		return "", Token{}, err
	}
	cookie = newCookie()
	now := time.UnixMilli(s.svc.now().UnixMilli())
	se := store.Session{ID: SessionHash(cookie), User: visitor, Room: room, Participant: side, Created: now, Expires: now.Add(SessionLife)}
	if err := s.svc.store.PutSession(ctx, se); err != nil {
		return "", Token{}, err
	}
	tok, err = s.token(se)
	return cookie, tok, err
}
