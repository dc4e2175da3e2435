package components_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/components"
)

func TestTheAppointmentReadsInTheViewersZone(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, 3, 1, 10, 0, 0, 0, time.Local)
	b := components.Booking{Starts: start, Ends: start.Add(time.Hour)}
	assert.Equal(t, "Fri 1 Mar 2030, 10:00–11:00", b.When())
	b.Ends = start.Add(26 * time.Hour)
	assert.Equal(t, "Fri 1 Mar 2030, 10:00 – Sat 2 Mar, 12:00", b.When())
	now := time.Now()
	b = components.Booking{Starts: time.Date(now.Year(), 6, 2, 9, 30, 0, 0, time.Local)}
	b.Ends = b.Starts.Add(90 * time.Minute)
	assert.Contains(t, b.When(), "2 Jun, 09:30–11:00")
	assert.NotContains(t, b.When(), "2030", "this year's date goes without its year")
}
