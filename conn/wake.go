package conn

import "time"

// WakeDrift is how far the wall clock must run ahead of the monotonic one
// for a DriftWatch to call it a sleep.
const WakeDrift = 2 * time.Second

// DriftWatch tells that the machine slept from the browser's two clocks:
// Date.now(), the wall clock, goes on while a laptop sleeps; performance.now(),
// the monotonic clock, does not on Linux and macOS, and neither do the
// timers, so the heartbeat's late-tick check cannot see a sleep there. The
// browser port reads both every second and reports a wake (EnvResume) when
// the wall clock ran ahead: within about a second of the wake, whatever
// the page's visibility. Its zero value is ready.
type DriftWatch struct {
	offset  float64 // wall − monotonic at the last observation, in ms
	started bool
}

// Observe takes both clocks in milliseconds and reports whether the wall
// clock ran ahead of the monotonic one by more than WakeDrift since the
// last observation. A wall clock set back (a time-zone or NTP correction)
// is no wake; the next observations start from it.
func (d *DriftWatch) Observe(wallMS, monoMS float64) bool {
	offset := wallMS - monoMS
	if !d.started {
		d.offset, d.started = offset, true
		return false
	}
	ahead := offset - d.offset
	d.offset = offset
	return ahead > float64(WakeDrift/time.Millisecond)
}
