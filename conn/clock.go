package conn

import "time"

// SystemClock is the Clock of every real client, in the browser and in Go
// programs: Now is time.Now and AfterFunc is time.AfterFunc. Time is no I/O,
// so it lives here beside the Clock it implements, not in a port package.
//
// It is safe in the browser: Go's timers run on setTimeout there, which
// background tabs throttle (to a tick a minute at worst), so a timer may
// fire late but still fires. The machine never assumes it fired on time: it
// steps each event with Now, so it measures how late a tick came (see
// Machine.hiddenBeat) instead of trusting d.
type SystemClock struct{}

var _ Clock = SystemClock{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc calls f after d on its own goroutine, unless stopped first.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
