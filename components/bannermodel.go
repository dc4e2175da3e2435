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
	// recoveredAt is when the link came back from the outage being
	// followed; recoveredUntil is when "Back online" ends. Both are zero
	// when it is not shown.
	recoveredAt    time.Time
	recoveredUntil time.Time
	// wasSending records that "Back online" last showed messages still
	// leaving, so that the last one going starts its full time again.
	wasSending bool

	// tracked holds the messages that waited in the outbox during the
	// outage, by client id, and whether each had failed when last seen.
	// nil when no outage is being followed.
	tracked map[string]bool
	// sent counts the tracked messages that left the outbox without
	// failing: the "3 messages sent" of "Back online".
	sent int
	// arrivals is the count of others' messages that reached the page
	// (ArrivalSource); arrivedBase was it when the outage began: the
	// difference is the "2 new" of "Back online".
	arrivals    int
	arrivedBase int

	// After a wake (Status.Wakes: the page was frozen, cached or asleep)
	// what comes in within wakeWindow is news too: "Welcome back · 3 new".
	wakes     int
	wakesSeen bool
	wakeAt    time.Time
	wakeBase  int
	away      bool // the "Back online" shown is a welcome back
	// arrivalLog remembers when the count changed lately: a page that runs
	// again gets what its socket held before it hears that it woke.
	arrivalLog    []arrivalStamp
	arrivalLogged int
}

// arrivalStamp is a change of the arrivals count: at when, from before.
type arrivalStamp struct {
	at     time.Time
	before int
}

// wakeLookback is how long before a wake is noticed the messages that came
// in count as having come while away.
const wakeLookback = 2 * time.Second

// logArrivals notes a change of the count, and forgets the old ones.
func (m *bannerModel) logArrivals(now time.Time) {
	if m.arrivals != m.arrivalLogged {
		m.arrivalLog = append(m.arrivalLog, arrivalStamp{at: now, before: m.arrivalLogged})
		m.arrivalLogged = m.arrivals
	}
	for len(m.arrivalLog) > 0 && now.Sub(m.arrivalLog[0].at) > 2*wakeLookback {
		m.arrivalLog = m.arrivalLog[1:]
	}
}

// arrivalsBefore is the count before the changes of the last d.
func (m *bannerModel) arrivalsBefore(now time.Time, d time.Duration) int {
	n := m.arrivals
	for i := len(m.arrivalLog) - 1; i >= 0 && now.Sub(m.arrivalLog[i].at) <= d; i-- {
		n = m.arrivalLog[i].before
	}
	return n
}

// wakeWindow is how long after a wake the messages that come in count as
// having come while the user was away.
const wakeWindow = 10 * time.Second

// noteWake starts a wake's window when the status says the page woke.
func (m *bannerModel) noteWake(now time.Time) {
	if m.wakesSeen && m.status.Wakes != m.wakes {
		m.wakeAt, m.wakeBase = now, m.arrivalsBefore(now, wakeLookback)
	}
	m.wakes, m.wakesSeen = m.status.Wakes, true
}

// setArrivals records the count of others' messages that reached the page.
func (m *bannerModel) setArrivals(n int) { m.arrivals = n }

// news counts the messages of others that came in since the outage began.
func (m *bannerModel) news() int {
	if m.tracked == nil {
		return 0
	}
	return max(0, m.arrivals-m.arrivedBase)
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
	m.arrivedBase = m.arrivals
	m.setOutbox(m.outbox)
}

// untrack stops following the outbox.
func (m *bannerModel) untrack() {
	m.tracked = nil
	m.sent = 0
	m.wasSending = false
	m.away = false
}

// sending counts the tracked messages still waiting to go, failed ones
// aside: those wait for the user, not for the link.
func (m *bannerModel) sending() int {
	n := 0
	for _, failed := range m.tracked {
		if !failed {
			n++
		}
	}
	return n
}

// recoveredHold bounds how long "Back online" waits for the messages of
// the outage to leave: past it, a message still pending says so itself.
const recoveredHold = 30 * time.Second

// advance works out what the banner shows at now and returns how long until
// that changes by itself (the grace ends, the countdown ticks, "Back online"
// ends), or 0 if only a new status or outbox can change it.
func (m *bannerModel) advance(now time.Time) time.Duration {
	target := BannerFor(m.status, now)
	// A slow link works: coming back to one from an outage is news first
	// ("Back online · 3 messages sent"); "Slow connection" follows if it
	// still is.
	works := !target.Shown() || target.State == BannerPoor
	m.logArrivals(now)
	m.noteWake(now)

	if works {
		if !m.wentDown && m.recoveredUntil.IsZero() && !m.wakeAt.IsZero() {
			switch {
			case now.Sub(m.wakeAt) >= wakeWindow:
				m.wakeAt = time.Time{}
			case m.arrivals > m.wakeBase:
				// Messages came in after a wake: say so as an outage's end
				// would, though the link itself held.
				m.tracked = map[string]bool{}
				m.sent, m.arrivedBase, m.away = 0, m.wakeBase, true
				m.recoveredAt, m.recoveredUntil = now, now.Add(m.recoveredFor)
				m.wakeAt = time.Time{}
			}
		}
		if m.wentDown {
			m.wentDown = false
			m.recoveredAt = now
			m.recoveredUntil = now.Add(m.recoveredFor)
		}
		if !m.recoveredUntil.IsZero() {
			// "Back online" stays while the outage's messages are still
			// leaving, and its full time after the last one went: the
			// count it ends on is the whole of them, however slow the
			// flush.
			holdEnd := m.recoveredAt.Add(recoveredHold)
			n := m.sending()
			if n > 0 && now.Before(holdEnd) {
				m.wasSending = true
				m.shown = recoveredView(m.sent, n, m.news(), m.away)
				return holdEnd.Sub(now)
			}
			if m.wasSending {
				m.wasSending = false
				if until := now.Add(m.recoveredFor); n == 0 && until.After(m.recoveredUntil) {
					m.recoveredUntil = until
				}
			}
			if now.Before(m.recoveredUntil) {
				m.shown = recoveredView(m.sent, 0, m.news(), m.away)
				return m.recoveredUntil.Sub(now)
			}
			// The end of "Back online".
			m.recoveredAt, m.recoveredUntil = time.Time{}, time.Time{}
			m.untrack()
		}
	}
	if !target.Shown() {
		// A blip that ended within the grace, or the end of "Back online".
		m.badSince = time.Time{}
		m.shown = BannerView{}
		m.untrack()
		return 0
	}

	if m.shown.State == BannerRecovered {
		// Down again while saying "Back online": a new outage, counted
		// afresh, and shown at once since the banner is on screen anyway.
		m.recoveredAt, m.recoveredUntil = time.Time{}, time.Time{}
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
