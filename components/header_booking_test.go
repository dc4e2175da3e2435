package components_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/components"
	"tether/conn"
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

// A session's server says why the session is over: the banner says what to
// do, and offers no retry that could not help.
func TestTheBannerSaysARevokedOrEndedSessionIsOver(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tt := range []struct {
		lastError string
		state     components.BannerState
		title     string
	}{
		{"no new token: server answered revoked: this access was revoked: ask for a new link", components.BannerRevoked, "Your access to this chat was revoked"},
		{"no new token: server answered session_expired: your session is over", components.BannerSessionExpired, "Your session is over"},
		{"no new token: no token: open the chat from your booking link", components.BannerUnauthorized, "Your session expired"},
	} {
		v := components.BannerFor(conn.Status{State: conn.StateUnauthorized, Quality: conn.QualityDisconnected, LastError: tt.lastError}, now)
		assert.Equal(t, tt.state, v.State, tt.lastError)
		assert.Equal(t, tt.title, v.Title)
		assert.True(t, v.Immediate)
		assert.Equal(t, tt.state == components.BannerUnauthorized, v.RetryLabel != "", "a retry only where it may help")
	}
}
