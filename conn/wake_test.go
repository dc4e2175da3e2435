package conn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tether/conn"
)

func TestDriftWatchTellsASleepFromTheTwoClocks(t *testing.T) {
	t.Parallel()
	var d conn.DriftWatch
	wall, mono := 1_700_000_000_000.0, 5_000.0
	assert.False(t, d.Observe(wall, mono), "the first look only starts")
	for range 10 { // awake: both clocks move together, give or take
		wall, mono = wall+1000, mono+1003
		assert.False(t, d.Observe(wall, mono))
	}
	// Asleep for ten minutes: the wall clock went on, the monotonic one
	// and the timers did not; the next look comes a second after the wake.
	wall, mono = wall+600_000+1000, mono+1000
	assert.True(t, d.Observe(wall, mono), "a wake")
	wall, mono = wall+1000, mono+1000
	assert.False(t, d.Observe(wall, mono), "once")

	// The wall clock set back an hour, then forward by a second: no wake.
	wall, mono = wall-3_600_000, mono+1000
	assert.False(t, d.Observe(wall, mono))
	wall, mono = wall+1500, mono+1000
	assert.False(t, d.Observe(wall, mono), "half a second of drift is noise")
}
