//go:build !wasm

package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store"
)

// RunBookings runs the conformance suite of store.Bookings. open must return
// a fresh, empty store of its own for each call (the subtests run in
// parallel) and close it when the test ends.
func RunBookings(t *testing.T, open func(t *testing.T) store.Bookings) {
	tests := []struct {
		name string
		run  func(t *testing.T, st store.Bookings)
	}{
		{"a booking round-trips, times to the millisecond", bookingRoundTrip},
		{"putting the same booking again returns it; other details conflict", bookingIdempotent},
		{"an unknown booking, invite or session is not found", bookingNotFound},
		{"an invite finds its booking and side", bookingByInvite},
		{"a user's bookings, soonest first, from either side", bookingsOf},
		{"cancel turns a booking cancelled, once", bookingCancel},
		{"revoking a side ends the sessions its invite opened, only those", bookingRevoke},
		{"a session round-trips, extends and ends", sessionLifecycle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t))
		})
	}
}

var bookingIDs atomic.Int64

// hashOf is a stand-in for an invite's or session's hash.
func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newBooking is an active booking of a fresh room between customer and
// provider, starting at start.
func newBooking(customer, provider string, start time.Time) store.Booking {
	n := bookingIDs.Add(1)
	room := fmt.Sprintf("b-%d", n)
	return store.Booking{
		Room:           room,
		Customer:       wire.User{ID: customer, Name: "Ann " + customer, Role: wire.RoleCustomer},
		Provider:       wire.User{ID: provider, Name: "Tess " + provider, Role: wire.RoleTherapist},
		Title:          "Deep tissue, 60 min — «ünïcode»",
		StartsAt:       start,
		EndsAt:         start.Add(time.Hour),
		Place:          "Main St 5",
		Status:         store.StatusActive,
		Created:        time.UnixMilli(1_800_000_000_123),
		CustomerInvite: hashOf(room + "/customer"),
		ProviderInvite: hashOf(room + "/provider"),
	}
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, st store.Bookings, b store.Booking) store.Booking {
	t.Helper()
	got, created, err := st.PutBooking(ctxOf(t), b)
	require.NoError(t, err)
	require.True(t, created)
	return got
}

func bookingRoundTrip(t *testing.T, st store.Bookings) {
	start := time.UnixMilli(1_800_000_100_456)
	b := newBooking("c-1", "p-1", start)
	b.Provider.Role = wire.RolePlace
	got := put(t, st, b)
	assert.Equal(t, b, got)
	read, err := st.Booking(ctxOf(t), b.Room)
	require.NoError(t, err)
	assert.Equal(t, b, read)
	assert.True(t, read.StartsAt.Equal(start))
}

func bookingIdempotent(t *testing.T, st store.Bookings) {
	b := newBooking("c-1", "p-1", time.UnixMilli(1_800_000_100_000))
	put(t, st, b)
	// The same details again (new invites would not be kept: the first
	// ones stand).
	again := b
	again.CustomerInvite, again.ProviderInvite = hashOf("other-1"), hashOf("other-2")
	got, created, err := st.PutBooking(ctxOf(t), again)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, b, got)

	for name, change := range map[string]func(*store.Booking){
		"title":    func(b *store.Booking) { b.Title += "!" },
		"start":    func(b *store.Booking) { b.StartsAt = b.StartsAt.Add(time.Minute) },
		"end":      func(b *store.Booking) { b.EndsAt = b.EndsAt.Add(time.Minute) },
		"place":    func(b *store.Booking) { b.Place = "" },
		"customer": func(b *store.Booking) { b.Customer.ID = "c-2" },
		"name":     func(b *store.Booking) { b.Provider.Name = "Other" },
		"kind":     func(b *store.Booking) { b.Provider.Role = wire.RolePlace },
	} {
		other := b
		change(&other)
		_, _, err := st.PutBooking(ctxOf(t), other)
		assert.ErrorIs(t, err, store.ErrConflict, name)
	}
	read, err := st.Booking(ctxOf(t), b.Room)
	require.NoError(t, err)
	assert.Equal(t, b, read, "nothing changed")
}

func bookingNotFound(t *testing.T, st store.Bookings) {
	ctx := ctxOf(t)
	_, err := st.Booking(ctx, "b-nowhere")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = st.BookingByInvite(ctx, hashOf("nothing"))
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.CancelBooking(ctx, "b-nowhere")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = st.RevokeParticipant(ctx, "b-nowhere", store.Customer)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.Session(ctx, hashOf("nothing"))
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, st.ExtendSession(ctx, hashOf("nothing"), time.Now()), store.ErrNotFound)
	assert.NoError(t, st.EndSession(ctx, hashOf("nothing")))
	list, err := st.BookingsOf(ctx, "nobody")
	require.NoError(t, err)
	assert.NotNil(t, list)
	assert.Empty(t, list)
}

func bookingByInvite(t *testing.T, st store.Bookings) {
	b := put(t, st, newBooking("c-1", "p-1", time.UnixMilli(1_800_000_100_000)))
	for _, side := range []store.Participant{store.Customer, store.Provider} {
		got, p, err := st.BookingByInvite(ctxOf(t), b.Invite(side))
		require.NoError(t, err)
		assert.Equal(t, side, p)
		assert.Equal(t, b.Room, got.Room)
	}
}

func bookingsOf(t *testing.T, st store.Bookings) {
	base := time.UnixMilli(1_800_000_000_000)
	late := put(t, st, newBooking("c-1", "p-1", base.Add(3*time.Hour)))
	early := put(t, st, newBooking("c-2", "p-1", base.Add(time.Hour)))
	mid := put(t, st, newBooking("c-1", "p-2", base.Add(2*time.Hour)))
	rooms := func(user string) []string {
		list, err := st.BookingsOf(ctxOf(t), user)
		require.NoError(t, err)
		var out []string
		for _, b := range list {
			out = append(out, b.Room)
		}
		return out
	}
	assert.Equal(t, []string{early.Room, late.Room}, rooms("p-1"))
	assert.Equal(t, []string{mid.Room, late.Room}, rooms("c-1"))
	assert.Equal(t, []string{mid.Room}, rooms("p-2"))
}

func bookingCancel(t *testing.T, st store.Bookings) {
	b := put(t, st, newBooking("c-1", "p-1", time.UnixMilli(1_800_000_100_000)))
	got, err := st.CancelBooking(ctxOf(t), b.Room)
	require.NoError(t, err)
	assert.Equal(t, store.StatusCancelled, got.Status)
	got, err = st.CancelBooking(ctxOf(t), b.Room)
	require.NoError(t, err)
	assert.Equal(t, store.StatusCancelled, got.Status)
	read, err := st.Booking(ctxOf(t), b.Room)
	require.NoError(t, err)
	assert.Equal(t, store.StatusCancelled, read.Status)
	// Putting it again is still the same booking, cancelled.
	again, created, err := st.PutBooking(ctxOf(t), b)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, store.StatusCancelled, again.Status)
}

func session(b store.Booking, p store.Participant, id string) store.Session {
	return store.Session{
		ID: hashOf(id), User: b.User(p), Room: b.Room, Participant: p,
		Created: time.UnixMilli(1_800_000_000_001), Expires: time.UnixMilli(1_802_592_000_001),
	}
}

func bookingRevoke(t *testing.T, st store.Bookings) {
	ctx := ctxOf(t)
	b := put(t, st, newBooking("c-1", "p-1", time.UnixMilli(1_800_000_100_000)))
	other := put(t, st, newBooking("c-1", "p-1", time.UnixMilli(1_800_000_200_000)))
	for _, s := range []store.Session{
		session(b, store.Customer, "c-phone"), session(b, store.Customer, "c-laptop"),
		session(b, store.Provider, "p-tablet"), session(other, store.Customer, "c-other"),
	} {
		require.NoError(t, st.PutSession(ctx, s))
	}
	got, ended, err := st.RevokeParticipant(ctx, b.Room, store.Customer)
	require.NoError(t, err)
	assert.True(t, got.CustomerRevoked)
	assert.False(t, got.ProviderRevoked)
	assert.ElementsMatch(t, [][]byte{hashOf("c-phone"), hashOf("c-laptop")}, ended)
	for id, revoked := range map[string]bool{"c-phone": true, "c-laptop": true, "p-tablet": false, "c-other": false} {
		s, err := st.Session(ctx, hashOf(id))
		require.NoError(t, err)
		assert.Equal(t, revoked, s.Revoked, id)
	}
	assert.ErrorIs(t, st.ExtendSession(ctx, hashOf("c-phone"), time.Now()), store.ErrNotFound, "a revoked session does not extend")
	// Again: nothing more to end.
	_, ended, err = st.RevokeParticipant(ctx, b.Room, store.Customer)
	require.NoError(t, err)
	assert.Empty(t, ended)
	read, err := st.Booking(ctx, b.Room)
	require.NoError(t, err)
	assert.True(t, read.CustomerRevoked)
	// The invite still finds its booking, which says the side is revoked.
	found, side, err := st.BookingByInvite(ctx, b.CustomerInvite)
	require.NoError(t, err)
	assert.Equal(t, store.Customer, side)
	assert.True(t, found.Revoked(side))
}

func sessionLifecycle(t *testing.T, st store.Bookings) {
	ctx := ctxOf(t)
	b := put(t, st, newBooking("c-1", "p-1", time.UnixMilli(1_800_000_100_000)))
	s := session(b, store.Provider, "p-phone")
	require.NoError(t, st.PutSession(ctx, s))
	got, err := st.Session(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, s, got)

	later := s.Expires.Add(24 * time.Hour)
	require.NoError(t, st.ExtendSession(ctx, s.ID, later))
	got, err = st.Session(ctx, s.ID)
	require.NoError(t, err)
	assert.True(t, got.Expires.Equal(later))

	require.NoError(t, st.EndSession(ctx, s.ID))
	got, err = st.Session(ctx, s.ID)
	require.NoError(t, err)
	assert.True(t, got.Revoked)
	assert.ErrorIs(t, st.ExtendSession(ctx, s.ID, later), store.ErrNotFound)
}
