//go:build !wasm

package bookings

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// A booking's link may be opened again (another browser, the installed
// app, a cleared cookie), and each open stores a session kept for
// SessionLife. So that a replayed link cannot fill the store, each side of
// a booking opens at most openBurst sessions at once and one more every
// openEvery after that.
const (
	openBurst = 20
	openEvery = 6 * time.Second
	// maxOpenLimits bounds the limits kept: past it they start over. Only
	// holders of that many valid links could get there, and starting over
	// only lets each open another burst.
	maxOpenLimits = 10000
)

// OpenLimitError is the error of an Open refused because its link opened
// too many sessions of late; After is when the next may open.
type OpenLimitError struct{ After time.Duration }

func (e *OpenLimitError) Error() string {
	return fmt.Sprintf("this link opened too many sessions: try again in %s", e.After.Round(time.Second))
}

// openLimits are the open limits of the booking sides that opened of late.
type openLimits struct {
	mu     sync.Mutex
	limits map[string]*rate.Limiter
}

// take counts an open of key at now; it returns the wait before the next
// is allowed when this one is not, and 0 when it is.
func (l *openLimits) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.limits[key]
	if lim == nil {
		if l.limits == nil || len(l.limits) >= maxOpenLimits {
			l.limits = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(rate.Every(openEvery), openBurst)
		l.limits[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return wait
	}
	return 0
}
