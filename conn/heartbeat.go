package conn

import (
	"errors"
	"log/slog"
	"time"

	"tether/conn/wire"
)

// The heartbeat: a ping every QualityCheckInterval while the page is
// visible; silence for HeartbeatInterval means the link is dead (found
// within HeartbeatInterval + QualityCheckInterval, 20 s by default). A link
// in doubt (offline or online hint, the page shown again, a frozen tab, a
// wall-clock jump) is verified with a ping of its own: no pong within
// verifyTimeout and it is dropped and replaced at once.

// maxPendingPings bounds the pings remembered for their round trip.
const maxPendingPings = 8

// VerifyTimeoutBase is the least a verify ping waits for its pong; the
// wait is VerifyTimeoutBase plus twice the smoothed RTT, capped at the
// heartbeat interval.
const VerifyTimeoutBase = 2 * time.Second

func (m *Machine) verifyTimeout() time.Duration {
	return min(VerifyTimeoutBase+2*m.quality.latency(), m.cfg.HeartbeatInterval)
}

func (m *Machine) onTick() {
	if m.ws != wsOpen && !m.polling {
		return
	}
	if m.visible || m.polling {
		// Polling's watchdogs keep the visible pace: they cost nothing.
		m.startTimer(TimerTick, m.cfg.QualityCheckInterval)
	} else {
		m.startTimer(TimerTick, m.hiddenInterval())
	}
	gap := m.now.Sub(m.lastTick)
	jumped := !m.lastTick.IsZero() && gap > 2*m.cfg.QualityCheckInterval
	m.lastTick = m.now
	m.watchdogs()
	m.resubscribeDue()
	if !m.visible {
		m.hiddenBeat()
		return
	}
	if jumped {
		m.logAttrs(slog.LevelInfo, "Clock jumped: checking the connection", "gap", gap.String())
		// The page did not run meanwhile (frozen without a word, as
		// Chromium's lifecycle emulation does, or suspended): a wake.
		m.wakes++
		m.lastInbound = m.now
		m.verify()
		return
	}
	if m.polling {
		m.probe(probeHealth)
		return
	}
	if m.now.Sub(m.lastInbound) >= m.cfg.HeartbeatInterval {
		m.logf(slog.LevelWarn, "Heartbeat timeout detected")
		m.logf(slog.LevelWarn, "Heartbeat failed - starting reconnection")
		m.connectionLost(loss{reason: "no frame for " + m.cfg.HeartbeatInterval.String(), silent: true})
		return
	}
	m.sendPing()
}

// hiddenBeat is a hidden page's heartbeat, at a quarter of the visible
// pace: a carrier or a NAT that drops an idle connection is noticed in
// the background, and the page is reconnected before it shows again.
// Browsers throttle a hidden page's timers (to a tick a minute after five
// minutes), so silence is not measured by the clock: the ping of the last
// tick must have been answered by this one; a pong itself is not delayed.
// Late ticks are no clock jump either: the page is checked when it shows.
func (m *Machine) hiddenBeat() {
	if m.polling {
		return // the long polls are the heartbeat
	}
	if len(m.pings) > 0 && m.now.Sub(m.pings[0].at) >= m.verifyTimeout() {
		m.logf(slog.LevelWarn, "Heartbeat timeout detected")
		m.logf(slog.LevelWarn, "Heartbeat failed - starting reconnection")
		// The link died idle at this pace: the network keeps less open
		// than that. The next links stay within half of it.
		if pace := m.hiddenInterval(); m.hiddenCap == 0 || pace/2 < m.hiddenCap {
			m.hiddenCap = max(pace/2, m.cfg.QualityCheckInterval)
			m.logAttrs(slog.LevelInfo, "Hidden heartbeat shortened", "every", m.hiddenCap.String())
		}
		m.connectionLost(loss{reason: "no pong while hidden", silent: true})
		return
	}
	m.sendPing()
}

// hiddenInterval is the hidden page's ping pace now; see
// Config.HiddenPingInterval.
func (m *Machine) hiddenInterval() time.Duration {
	if m.hiddenPace == 0 {
		m.hiddenPace = m.cfg.HiddenPingInterval
		if m.serverBeat > 0 {
			m.hiddenPace = max(m.serverBeat, m.cfg.QualityCheckInterval)
		}
	}
	return min(m.hiddenPace, m.hiddenCeiling())
}

// hiddenCeiling is the longest hidden pace: the configured bound, twice the
// server's heartbeat, and what an idle drop taught.
func (m *Machine) hiddenCeiling() time.Duration {
	c := m.cfg.HiddenPingMax
	if m.serverBeat > 0 {
		c = min(c, max(2*m.serverBeat, m.cfg.QualityCheckInterval))
	}
	if m.hiddenCap > 0 {
		c = min(c, m.hiddenCap)
	}
	return c
}

// sendPing writes a ping and remembers when, for its round trip.
func (m *Machine) sendPing() int64 {
	id := int64(m.newID())
	if len(m.pings) >= maxPendingPings {
		m.pings = m.pings[1:]
	}
	m.pings = append(m.pings, pendingPing{id: id, at: m.now})
	m.emit(SendFrame{Gen: m.gen, Frame: &wire.Ping{ID: id}})
	return id
}

func (m *Machine) onPong(p *wire.Pong) {
	for i, pp := range m.pings {
		if pp.id == p.ID {
			m.quality.add(m.now.Sub(pp.at))
			m.pings = m.pings[i+1:]
			if !m.visible {
				// A healthy link in the background: ping less.
				m.hiddenPace = min(m.hiddenInterval()*3/2, m.hiddenCeiling())
			}
			break
		}
	}
	if m.verifyPing != 0 && p.ID >= m.verifyPing {
		m.verifyPing = 0
		m.stopTimer(TimerVerify)
		if !m.online {
			m.logf(slog.LevelInfo, "Network works: the socket answered")
		}
		m.online = true
		m.offlineSocket = false // it answered: the offline hint was wrong
	}
}

// verify checks a link in doubt: a ping on a socket, a probe while polling.
func (m *Machine) verify() {
	switch {
	case m.ws == wsOpen:
		if m.verifyPing != 0 {
			return // one check at a time
		}
		m.verifyPing = m.sendPing()
		m.startTimer(TimerVerify, m.verifyTimeout())
	case m.polling:
		m.probe(probeHealth)
	}
}

func (m *Machine) onVerifyTimeout() {
	if m.ws != wsOpen || m.verifyPing == 0 {
		return
	}
	m.logf(slog.LevelWarn, "Heartbeat timeout detected")
	m.logf(slog.LevelWarn, "Heartbeat failed - starting reconnection")
	m.connectionLost(loss{reason: "no pong within " + m.verifyTimeout().String(), now: true, silent: true})
}

// onEnv handles the browser's hints. Offline is only a hint: the status
// shows it at once and a check confirms or corrects it. Online, a page shown
// again, a page that runs again after a freeze: check now and reconnect at
// once rather than wait out a backoff.
func (m *Machine) onEnv(ev EnvEvent) {
	switch ev {
	case EnvOffline:
		if !m.networkHint(false, "Network offline (browser) - checking") {
			return
		}
		if m.ws == wsOpen {
			// Browsers keep a socket open through an offline spell, but the
			// network behind it has usually changed (another Wi-Fi, a new
			// address): unless it answers meanwhile, it is replaced when the
			// network is back.
			m.offlineSocket = true
		}
		if m.ws == wsOpen || m.polling {
			m.verify()
		} else {
			m.probe(probeOffline)
		}
	case EnvOnline:
		if !m.networkHint(true, "Network online - checking the connection") {
			return
		}
		if m.ws == wsOpen && m.offlineSocket {
			m.logf(slog.LevelInfo, "Replacing the socket that lived through the offline spell")
			m.connectionLost(loss{reason: "the network changed", now: true})
			return
		}
		m.wake()
	case EnvHidden:
		m.visible = false
	case EnvVisible:
		m.visible = true
		m.wake()
	case EnvPageShow:
		m.visible = true
		m.wakes++
		m.wake()
	case EnvResume:
		m.wakes++
		m.wake()
	}
}

// networkHint takes the browser's word that the network went online or
// offline, logging msg; it returns false, and changes nothing, when network
// detection is disabled.
func (m *Machine) networkHint(online bool, msg string) bool {
	if m.cfg.DisableNetworkDetection {
		return false
	}
	m.online = online
	m.logAttrs(slog.LevelInfo, msg)
	m.forgetBlockedEvidence()
	return true
}

// forgetBlockedEvidence drops the WebSocket failures seen so far, and the
// question a probe was to answer about them: across a change of the network
// they prove nothing about a proxy blocking WebSocket, and a probe answered
// once the network is back must not switch a working WebSocket to polling.
func (m *Machine) forgetBlockedEvidence() {
	m.failStreak = 0
	m.probeWhy &^= probeFallback
}

// wake checks the link now, and connects now if there is none.
func (m *Machine) wake() {
	m.lastInbound = m.now
	switch {
	case m.ws == wsOpen:
		m.verify()
	case m.polling:
		m.verify()
		if m.ws == wsNone {
			m.logf(slog.LevelInfo, "Trying WebSocket again")
			m.connect()
		}
	case m.ws == wsNone:
		m.connect()
	}
}

// probe pings the server over HTTP; reasons pile up on one probe.
func (m *Machine) probe(why probeReason) {
	m.probeWhy |= why
	if m.probeReq != 0 {
		return
	}
	m.probeReq = m.newID()
	m.probeAt = m.now
	m.emit(Probe{Req: m.probeReq})
	timeout := m.cfg.ConnectionTimeout
	if why == probeNetwork {
		timeout = min(timeout, NetCheckTimeout)
	}
	m.startTimer(TimerProbe, timeout)
}

// The network's return after a silent outage (a dead Wi-Fi, a tunnel: the
// sockets stay open, nothing answers, nothing is refused). The attempts
// made meanwhile hang until their timeout and count for nothing, and one
// still hanging when the network returns would hold the reconnection for
// up to ConnectionTimeout, and the backoff has grown by then. So while the
// network is in doubt a small probe (GET /api/ping) runs every
// NetCheckInterval, each given NetCheckTimeout; the first that answers
// ends the doubt and connects at once, abandoning an attempt made in
// doubt. Hidden pages do not probe: showing the page checks at once.
const (
	NetCheckInterval = time.Second
	NetCheckTimeout  = 3 * time.Second
)

// doubtNetwork notes that the network went silent.
func (m *Machine) doubtNetwork() {
	if !m.netDoubt {
		m.logf(slog.LevelInfo, "No answer at all: watching for the network")
	}
	m.netDoubt = true
	if m.timers[TimerNetCheck] == 0 && m.probeReq == 0 {
		m.startTimer(TimerNetCheck, NetCheckInterval)
	}
}

// netBack ends a doubt about the network: something answered.
func (m *Machine) netBack() {
	m.netDoubt = false
	m.stopTimer(TimerNetCheck)
}

func (m *Machine) onNetCheck() {
	if !m.netDoubt || m.closed || m.unauthorized || m.ws == wsOpen || m.polling {
		return
	}
	if !m.visible {
		// Checked when shown again (wake); meanwhile the retries go on.
		m.startTimer(TimerNetCheck, NetCheckInterval)
		return
	}
	m.probe(probeNetwork)
}

var errProbeTimeout = errors.New("probe timed out")

func (m *Machine) onProbeTimeout() {
	if m.probeReq == 0 {
		return
	}
	m.emit(Cancel{Req: m.probeReq})
	m.onProbe(ProbeDone{Req: m.probeReq, Err: errProbeTimeout})
}

func (m *Machine) onProbe(ev ProbeDone) {
	if !answers(&m.probeReq, ev.Req) {
		return
	}
	m.stopTimer(TimerProbe)
	why, rtt := m.probeWhy, m.now.Sub(m.probeAt)
	m.probeWhy = 0
	if ev.Err != nil {
		m.logAttrs(slog.LevelDebug, "Probe failed", "err", ev.Err.Error())
		// The network or the server is down, not WebSocket alone: the
		// failures so far are no evidence of a proxy (DESIGN §2 falls
		// back only while ping answers).
		m.forgetBlockedEvidence()
		if errors.Is(ev.Err, errProbeTimeout) {
			m.doubtNetwork()
		}
		if m.netDoubt && m.timers[TimerNetCheck] == 0 {
			m.startTimer(TimerNetCheck, NetCheckInterval)
		}
		if why&probeExhausted != 0 && !m.polling && m.ws != wsOpen {
			m.suspend()
		}
		if why&probeHealth != 0 && m.polling {
			m.pollingFailed("probe failed: " + ev.Err.Error())
		}
		return
	}
	if !m.online {
		m.logf(slog.LevelInfo, "Network works: the server answered")
		m.online = true
	}
	if m.netDoubt {
		m.logf(slog.LevelInfo, "The network is back: connecting now")
		m.netBack()
		if !m.polling {
			// An answer after the silence is the network's return, not a
			// sign that WebSocket is blocked: WebSocket now, at once. An
			// attempt made in the silence may hang to its timeout.
			if m.ws != wsNone && m.ws != wsOpen && m.dialDoubt {
				m.teardownSocket()
			}
			m.connect()
			return
		}
	}
	switch {
	case m.polling:
		m.quality.add(rtt)
	case why&(probeFallback|probeExhausted) != 0 && m.ws != wsOpen:
		m.startPolling(rtt)
	case why&probeOffline != 0 && m.ws == wsNone:
		m.connect()
	}
}
