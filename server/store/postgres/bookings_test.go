//go:build !wasm

package postgres_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/postgres"
	"tether/server/store/postgres/pgtest"
	"tether/server/store/storetest"
)

func TestBookingsConformance(t *testing.T) {
	t.Parallel()
	storetest.RunBookings(t, func(t *testing.T) store.Bookings {
		return open(t, pgtest.NewDatabase(t), postgres.Options{})
	})
}

// Two nodes putting the same booking at once: one creates it, every other
// call finds it, and none fails on a unique key.
func TestTwoNodesPuttingTheSameBookingAtOnceAgree(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	nodes := []*postgres.Store{open(t, url, postgres.Options{}), open(t, url, postgres.Options{})}
	start := time.UnixMilli(1_800_000_100_000)
	for i := range 20 {
		b := store.Booking{
			Room:           "b-" + string(rune('a'+i)),
			Customer:       wire.User{ID: "c-1", Name: "Ann", Role: wire.RoleCustomer},
			Provider:       wire.User{ID: "p-1", Name: "Tess", Role: wire.RoleTherapist},
			Title:          "Massage",
			StartsAt:       start,
			EndsAt:         start.Add(time.Hour),
			Status:         store.StatusActive,
			Created:        start,
			CustomerInvite: []byte{byte(i), 1},
			ProviderInvite: []byte{byte(i), 2},
		}
		var created atomic.Int32
		var wg sync.WaitGroup
		for _, s := range nodes {
			for range 4 {
				wg.Go(func() {
					got, c, err := s.PutBooking(t.Context(), b)
					if !assert.NoError(t, err) {
						return
					}
					if c {
						created.Add(1)
					}
					assert.Equal(t, b, got)
				})
			}
		}
		wg.Wait()
		assert.Equal(t, int32(1), created.Load(), b.Room)
	}
}
