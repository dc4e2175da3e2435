package components

import (
	"time"

	"tether/conn"
)

// bannerModel decides what the banner shows over time: the grace period
// before a bad link shows, the countdown, and the "Back online" that follows
// an outage. It has no clock and no goroutine of its own: the component
// feeds it the status, the outbox and the time, and arms one timer for the
// delay advance returns. It lives on the UI goroutine.
type bannerModel struct {
	grace        time.Duration
	recoveredFor time.Duration

	status conn.Status
	outbox []conn.OutboxEntry

	// shown is what the banner shows now.
	shown BannerView
	// badSince is when the link last went from fine to poor, polling or
	// down; zero while it is fine.
	badSince time.Time
	// wentDown records that the banner showed a lost link in this outage,
	// so that coming back says so.
	wentDown bool
	// recoveredUntil is when "Back online" ends; zero when it is not shown.
	recoveredUntil time.Time

	// tracked holds the messages that waited in the outbox during the
	// outage, by client id, and whether each had failed when last seen.
	// nil when no outage is being followed.
	tracked map[string]bool
	// sent counts the tracked messages that left the outbox without
	// failing: the "3 messages sent" of "Back online".
	sent int
}

// setOutbox records the outbox. During an outage and its "Back online", a
// tracked message that leaves the outbox while not failed counts as sent.
// Only the outage adds messages to follow: one sent after the link is back
// is no news.
func (m *bannerModel) setOutbox(entries []conn.OutboxEntry) {
	m.outbox = entries
	if m.tracked == nil {
		return
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.ClientID] = true
	}
	for id, failed := range m.tracked {
		if !present[id] {
			delete(m.tracked, id)
			if !failed {
				m.sent++
			}
		}
	}
	during := m.recoveredUntil.IsZero()
	for _, e := range entries {
		if _, ok := m.tracked[e.ClientID]; ok || during {
			m.tracked[e.ClientID] = e.Failed
		}
	}
}

// track starts following the outbox for a new outage.
func (m *bannerModel) track() {
	if m.tracked != nil {
		return
	}
	m.tracked = map[string]bool{}
	m.sent = 0
	m.setOutbox(m.outbox)
}

// untrack stops following the outbox.
func (m *bannerModel) untrack() {
	m.tracked = nil
	m.sent = 0
}

// advance works out what the banner shows at now and returns how long until
// that changes by itself (the grace ends, the countdown ticks, "Back online"
// ends), or 0 if only a new status or outbox can change it.
func (m *bannerModel) advance(now time.Time) time.Duration {
	target := BannerFor(m.status, now)

	if !target.Shown() {
		m.badSince = time.Time{}
		if m.wentDown {
			m.wentDown = false
			m.recoveredUntil = now.Add(m.recoveredFor)
		}
		if now.Before(m.recoveredUntil) {
			m.shown = recoveredView(m.sent)
			return m.recoveredUntil.Sub(now)
		}
		// A blip that ended within the grace, or the end of "Back online".
		m.recoveredUntil = time.Time{}
		m.shown = BannerView{}
		m.untrack()
		return 0
	}

	if m.shown.State == BannerRecovered {
		// Down again while saying "Back online": a new outage, counted
		// afresh, and shown at once since the banner is on screen anyway.
		m.recoveredUntil = time.Time{}
		m.untrack()
	}
	if m.badSince.IsZero() {
		m.badSince = now
	}
	if target.State.Disconnected() {
		// Messages queued from the moment the link is lost count, even
		// within the grace.
		m.track()
	}
	// The grace only holds back a banner that is not on screen yet: moving
	// from one bad state to another never hides it.
	if !m.shown.Shown() && !target.Immediate && now.Sub(m.badSince) < m.grace {
		return m.badSince.Add(m.grace).Sub(now)
	}
	m.shown = target
	if target.State.Disconnected() {
		m.wentDown = true
	}
	if target.RetryIn > 0 {
		return countdownWake(m.status.NextRetryAt, now)
	}
	return 0
}
