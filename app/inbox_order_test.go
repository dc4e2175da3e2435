package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/app"
	"tether/components"
)

// The inbox lists the bookings still to come first, the soonest first, then
// the rest in the order of their activity.
func TestTheInboxPutsTheNextAppointmentsFirst(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(h int) components.Booking {
		return components.Booking{Starts: now.Add(time.Duration(h) * time.Hour), Ends: now.Add(time.Duration(h+1) * time.Hour)}
	}
	bookings := map[string]app.BookingInfo{
		"past":      {Room: "past", Status: "active", Booking: at(-5)},
		"tomorrow":  {Room: "tomorrow", Status: "active", Booking: at(24)},
		"soon":      {Room: "soon", Status: "active", Booking: at(2)},
		"cancelled": {Room: "cancelled", Status: "cancelled", Booking: at(1)},
	}
	// The store's order: the most recent activity first.
	rooms := []app.RoomSummary{{Room: "past"}, {Room: "cancelled"}, {Room: "no-booking"}, {Room: "tomorrow"}, {Room: "soon"}}
	var got []string
	for _, r := range app.OrderRooms(rooms, bookings, now) {
		got = append(got, r.Room)
	}
	assert.Equal(t, []string{"soon", "tomorrow", "past", "cancelled", "no-booking"}, got)
	assert.Equal(t, "past", rooms[0].Room, "the store's list is left as it was")
}
