package conn

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"tether/conn/wire"
)

// The HTTP fallback: when WebSocket is blocked but HTTP works, each room is
// long-polled (short polls every PollInterval when long polls fail or the
// server answers them at once), the outbox goes out through POST, and
// WebSocket is tried again every WebSocketRestoreInterval and on online or
// visible. The switch back happens when a welcome arrives: polls in flight
// are abandoned, and hello's resume carries the seqs the polls reached, so
// nothing is lost or repeated.

// maxPollFailures is how many polls in a row may fail before polling is
// given up for the backoff.
const maxPollFailures = 3

var errPollTimeout = errors.New("poll timed out")

func (m *Machine) startPolling(rtt time.Duration) {
	if m.polling || m.cfg.DisableFallbackPolling || m.closed || m.unauthorized || m.ws == wsOpen {
		return
	}
	m.logf(slog.LevelInfo, "Switching to polling fallback")
	m.polling = true
	m.suspended = false
	m.attempts = 0
	m.failStreak = 0
	m.connected = true
	m.pollWait = m.cfg.LongPollWait
	m.pollFailures = 0
	m.stopTimer(TimerRetry)
	m.quality.reset()
	m.quality.add(rtt)
	m.lastTick = m.now
	m.startTimer(TimerTick, m.cfg.QualityCheckInterval)
	m.planRestore()
	m.pollAll()
	m.flushOutbox()
}

// planRestore makes sure WebSocket will be tried again while polling.
func (m *Machine) planRestore() {
	if m.polling && m.ws == wsNone && m.timers[TimerRestore] == 0 {
		m.startTimer(TimerRestore, m.cfg.WebSocketRestoreInterval)
		m.nextRetryAt = m.now.Add(m.cfg.WebSocketRestoreInterval)
	}
}

// stopPolling abandons the polls in flight. Posts in flight finish: their
// answers still ack their messages.
func (m *Machine) stopPolling() {
	if !m.polling {
		return
	}
	m.polling = false
	for _, name := range m.roomNames() {
		r := m.rooms[name]
		if r.pollReq != 0 {
			m.emit(Cancel{Req: r.pollReq})
			r.pollReq = 0
		}
		r.pollNotBefore = time.Time{}
	}
	m.stopTimer(TimerRestore)
	m.stopTimer(TimerPoll)
	if m.ws != wsOpen {
		m.stopTimer(TimerTick)
	}
}

// pollingFailed gives polling up: HTTP does not work either.
func (m *Machine) pollingFailed(reason string) {
	m.logAttrs(slog.LevelWarn, "Polling failed", "reason", reason)
	m.stopPolling()
	m.lastError = reason
	m.quality.reset()
	if m.ws != wsNone {
		return // a WebSocket attempt is under way; its end plans the next
	}
	m.dropped = true
	m.scheduleRetry(loss{reason: reason})
}

func (m *Machine) onRestoreTimer() {
	if !m.polling || m.ws != wsNone {
		return
	}
	m.logf(slog.LevelInfo, "Trying WebSocket again")
	m.connect()
}

// refreshing reports whether a new token is on its way after a refusal:
// HTTP calls wait. A renewal does not hold them: the token in hand works.
func (m *Machine) refreshing() bool { return m.tokenReq != 0 && m.tokenRefresh && !m.tokenRenew }

// pollAll polls every wanted room that is not polled already.
func (m *Machine) pollAll() {
	if !m.polling || m.token == "" || m.refreshing() {
		return
	}
	for _, name := range m.roomNames() {
		r := m.rooms[name]
		if r.wanted && !r.failed && r.pollReq == 0 && !m.now.Before(r.pollNotBefore) {
			m.pollRoom(name, r)
		}
	}
	m.armPollTimer()
}

func (m *Machine) pollRoom(name string, r *room) {
	r.pollReq = m.newID()
	r.pollAt = m.now
	m.emit(Poll{Req: r.pollReq, Token: m.token, Room: name, Since: r.lastSeq, Wait: m.pollWait, Limit: wire.MaxPageLimit})
}

// armPollTimer paces what waits: short polls, and rooms told to wait.
func (m *Machine) armPollTimer() {
	if !m.polling || m.timers[TimerPoll] != 0 {
		return
	}
	var next time.Duration
	if m.pollWait == 0 {
		next = m.cfg.PollInterval
	}
	for _, r := range m.rooms {
		if r.pollReq == 0 && r.pollNotBefore.After(m.now) {
			if d := r.pollNotBefore.Sub(m.now); next == 0 || d < next {
				next = d
			}
		}
	}
	if next > 0 {
		m.startTimer(TimerPoll, next)
	}
}

func (m *Machine) onPoll(ev PollDone) {
	r := m.rooms[ev.Room]
	if r == nil || !answers(&r.pollReq, ev.Req) {
		return
	}
	if ev.Err != nil {
		m.pollError(ev.Room, r, ev.Err)
		return
	}
	m.pollFailures = 0
	m.online = true
	m.accept(ev.Room, r, ev.Page.Messages)
	if !m.polling || !r.wanted || r.failed {
		return
	}
	if m.pollWait > 0 && len(ev.Page.Messages) == 0 && m.now.Sub(r.pollAt) < m.pollWait/2 {
		// The server answered a long poll at once with nothing: it does
		// not hold polls. Polling it in a loop would hammer it.
		m.pollWait = 0
		m.logf(slog.LevelInfo, "Long poll not held by the server - polling every %s", m.cfg.PollInterval)
	}
	if m.pollWait > 0 || len(ev.Page.Messages) >= wire.MaxPageLimit {
		m.pollRoom(ev.Room, r)
		return
	}
	m.armPollTimer()
}

func (m *Machine) pollError(name string, r *room, err error) {
	switch status, he := StatusOf(err); status {
	case 401:
		m.tokenRefused("polling refused: " + err.Error())
		return
	case 403:
		m.failRoom(name, fmt.Errorf("failed to poll %s: %w", name, err))
		return
	case 429, 503:
		r.pollNotBefore = m.now.Add(max(he.RetryAfter, m.cfg.PollInterval))
		m.armPollTimer()
		return
	}
	m.pollFailures++
	if m.pollWait > 0 {
		m.pollWait = 0
		m.logf(slog.LevelInfo, "Long poll failed - polling every %s", m.cfg.PollInterval)
	}
	if m.pollFailures >= maxPollFailures {
		m.pollingFailed(fmt.Sprintf("%d polls failed: %v", m.pollFailures, err))
		return
	}
	m.armPollTimer()
}

// watchdogs end requests that hang: the ports have no deadline of their
// own, since time comes only from the clock port.
func (m *Machine) watchdogs() {
	for _, name := range m.roomNames() {
		r := m.rooms[name]
		if r.pollReq != 0 && m.now.Sub(r.pollAt) > m.pollWait+m.cfg.ConnectionTimeout {
			m.emit(Cancel{Req: r.pollReq})
			r.pollReq = 0
			m.pollError(name, r, errPollTimeout)
		}
		if r.fetchReq != 0 && m.now.Sub(r.fetchAt) > m.cfg.ConnectionTimeout {
			m.emit(Cancel{Req: r.fetchReq})
			r.fetchReq = 0
		}
		m.maybeFetch(name, r)
	}
}
