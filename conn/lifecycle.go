package conn

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"tether/conn/wire"
)

// The life of a WebSocket connection: token, dial, hello, welcome, and what
// happens when it ends. Every failure goes through connectionLost, which
// applies the close-code table and the backoff.

// loss describes how a connection or an attempt ended.
type loss struct {
	code   wire.CloseCode // 0 when there was no close (dial error, timeout)
	reason string         // for LastError and the log
	// now skips the backoff: the link was found dead by a check the user or
	// the browser asked for, so the next attempt starts at once.
	now bool
	// exact waits this long instead of the backoff (4429, a Retry-After).
	exact time.Duration
	// window waits a random moment within it (4001).
	window time.Duration
	// careful forbids the fast first retry (1007, 1008, 1009): a client
	// that broke the protocol must never retry in a tight loop.
	careful bool
	// silent: nothing came back at all (no frame, no welcome in time), as
	// when the network itself is gone; see netDoubt.
	silent bool
}

// connect starts an attempt: the token first if there is none, then the
// dial. The connect timer covers all of it.
func (m *Machine) connect() {
	if m.closed || m.unauthorized || m.ws != wsNone {
		return
	}
	m.stopTimer(TimerRetry)
	if !m.polling {
		m.nextRetryAt = time.Time{}
	}
	m.connectStart = m.now
	switch {
	case m.attempts == 0 || m.polling:
	case m.attempts > m.cfg.MaxReconnectAttempts:
		// Past the budget the count out of it means nothing ("14/10").
		m.logf(slog.LevelInfo, "Reconnect attempt %d (suspended: every %s)", m.attempts, m.cfg.MaxReconnectDelay)
	default:
		m.logf(slog.LevelInfo, "Reconnect attempt %d/%d", m.attempts, m.cfg.MaxReconnectAttempts)
	}
	m.startTimer(TimerConnect, m.cfg.ConnectionTimeout)
	m.dialDoubt = m.netDoubt || m.restarting
	if m.token == "" {
		m.ws = wsToken
		m.fetchToken(false)
		return
	}
	m.dial()
}

func (m *Machine) dial() {
	m.gen = m.newID()
	m.ws = wsDialing
	m.emit(Dial{Gen: m.gen})
}

func (m *Machine) fetchToken(refresh bool) {
	if m.tokenReq != 0 {
		m.emit(Cancel{Req: m.tokenReq})
	}
	m.tokenReq = m.newID()
	m.tokenRefresh = refresh
	m.tokenRenew = false
	m.emit(FetchToken{Req: m.tokenReq, Refresh: refresh})
}

func (m *Machine) onToken(ev TokenReady) {
	if !answers(&m.tokenReq, ev.Req) {
		return
	}
	refresh := m.tokenRefresh
	if m.tokenRenew {
		m.tokenRenew = false
		m.onRenewed(ev)
		return
	}
	if ev.Err != nil || ev.Token == "" {
		err := ev.Err
		if err == nil {
			err = errors.New("empty token")
		}
		if refresh {
			m.becomeUnauthorized("no new token: " + err.Error())
			return
		}
		if m.ws == wsToken {
			m.connectionLost(loss{reason: err.Error()})
		}
		return
	}
	m.token = ev.Token
	m.scheduleRenewal()
	if m.ws == wsToken {
		m.dial()
	}
	if m.polling {
		m.pollAll()
		m.flushOutbox()
	}
}

func (m *Machine) onDialed(ev Dialed) {
	if ev.Gen != m.gen || m.ws != wsDialing {
		if ev.Err == nil {
			m.emit(CloseSocket{Gen: ev.Gen, Code: wire.CloseNormal, Reason: "superseded"})
		}
		return
	}
	if ev.Err != nil {
		switch status, he := StatusOf(ev.Err); status {
		case 401:
			m.teardownSocket()
			m.tokenRefused("WebSocket upgrade refused: " + ev.Err.Error())
		case 429, 503:
			m.connectionLost(loss{reason: ev.Err.Error(), exact: he.RetryAfter})
		default:
			m.connectionLost(loss{reason: ev.Err.Error()})
		}
		return
	}
	m.ws = wsHandshake
	m.helloAt = m.now
	resume := map[string]int64{}
	clear(m.resumeSince)
	for _, name := range m.roomNames() {
		r := m.rooms[name]
		if r.wanted && !r.failed {
			resume[name] = r.lastSeq
			m.resumeSince[name] = r.lastSeq
			r.askedAt = m.gen
		}
	}
	m.helloToken = m.token
	m.emit(SendFrame{Gen: m.gen, Frame: &wire.Hello{Token: m.token, Resume: resume}})
}

func (m *Machine) onFrame(ev FrameReceived) {
	if ev.Gen != m.gen || (m.ws != wsHandshake && m.ws != wsOpen) {
		return
	}
	m.lastInbound = m.now
	switch f := ev.Frame.(type) {
	case nil:
		m.logAttrs(slog.LevelWarn, "Ignoring a frame that did not decode", "err", errString(ev.Err))
	case *wire.Welcome:
		if m.ws == wsHandshake {
			m.serverBeat = time.Duration(max(f.HeartbeatMS, 0)) * time.Millisecond
			m.onWelcome()
		}
	case *wire.Pong:
		m.onPong(f)
	case *wire.Subscribed:
		m.onSubscribed(f)
	case *wire.Message:
		m.onMessage(*f)
	case *wire.Ack:
		m.acked(f.ClientID, f.Seq)
	case *wire.ErrorFrame:
		m.onErrorFrame(f)
	case *wire.Authed:
		m.onAuthed(f)
	}
}

func (m *Machine) onWelcome() {
	m.stopTimer(TimerConnect)
	m.ws = wsOpen
	m.logf(slog.LevelInfo, "WebSocket connected (%dms)", m.now.Sub(m.connectStart).Milliseconds())
	m.quality.reset()
	m.quality.add(m.now.Sub(m.helloAt))
	m.lastTick = m.now
	m.hiddenPace = 0 // a new link: its hidden pace starts afresh
	m.failStreak = 0
	m.restarting = false
	m.netBack()
	m.suspended = false
	m.refreshTried = false
	m.connected = true
	m.online = true // a welcome is proof enough
	m.lastError = ""
	m.nextRetryAt = time.Time{}
	if m.polling {
		m.logf(slog.LevelInfo, "WebSocket restored, stopping polling")
		m.stopPolling()
	}
	m.stopTimer(TimerRetry)
	m.startTimer(TimerTick, m.cfg.QualityCheckInterval)
	m.startTimer(TimerStable, m.cfg.StableAfter)
	if m.helloToken != m.token {
		// Renewed while the hello was on its way: the socket ends with
		// the token the hello carried unless it hears of this one.
		m.helloToken = m.token
		m.emit(SendFrame{Gen: m.gen, Frame: &wire.Auth{Token: m.token}})
	}
	for _, name := range m.roomNames() {
		r := m.rooms[name]
		if r.wanted && !r.failed {
			if _, asked := m.resumeSince[name]; !asked {
				m.subscribe(name, r)
			}
		}
	}
	m.flushOutbox()
}

func (m *Machine) onSocketClosed(ev SocketClosed) {
	if ev.Gen != m.gen || m.ws < wsDialing {
		return
	}
	m.handleClose(ev.Code, ev.Reason)
}

// handleClose applies the close-code table of the design.
func (m *Machine) handleClose(code wire.CloseCode, reason string) {
	l := loss{code: code, reason: "closed " + code.String()}
	if reason != "" {
		l.reason += ": " + reason
	}
	switch code {
	case wire.CloseUnauthorized:
		m.teardownSocket()
		m.tokenRefused("token refused (4401)")
		return
	case wire.CloseForbidden:
		if reason == wire.CodeRevoked {
			// The operator ended the session (contract v2): no room is at
			// fault. A new token says whether any access is left; the
			// server's refusal (revoked) is what the page then shows.
			m.teardownSocket()
			m.tokenRefused("session revoked (4403)")
			return
		}
		m.failRoom(m.forbiddenRoom(reason), errors.New("not a participant of this room (4403)"))
	case wire.CloseDraining:
		l.window = retryAfter(reason, 5*time.Second)
		m.restarting = true
	case wire.CloseRateLimited:
		l.exact = retryAfter(reason, m.cfg.BaseReconnectDelay)
	case wire.CloseBadData, wire.ClosePolicy, wire.CloseTooBig:
		m.logAttrs(slog.LevelWarn, "Server closed the connection for a protocol fault", "code", int(code), "reason", reason)
		l.careful = true
	}
	m.connectionLost(l)
}

// retryAfter reads the retry window of a 4001 or 4429 reason.
func retryAfter(reason string, fallback time.Duration) time.Duration {
	r, err := wire.ParseRetryAfter(reason)
	if err != nil || r.RetryAfterMS <= 0 {
		return fallback
	}
	return time.Duration(r.RetryAfterMS) * time.Millisecond
}

// forbiddenRoom finds the room a 4403 is about: the reason names it (plain,
// or a query string "room=R"), else the room subscribed last.
func (m *Machine) forbiddenRoom(reason string) string {
	if r, ok := m.rooms[reason]; ok && r.wanted {
		return reason
	}
	if name, ok := strings.CutPrefix(reason, "room="); ok && wire.ValidRoom(name) {
		return name
	}
	// Rooms resumed by one hello share askedAt; the server subscribes them
	// in name order, so the last by name is the last subscribed.
	last, lastAt := "", uint64(0)
	for _, name := range m.roomNames() {
		if r := m.rooms[name]; r.wanted && !r.failed && r.askedAt >= lastAt {
			last, lastAt = name, r.askedAt
		}
	}
	return last
}

func (m *Machine) onConnectTimeout() {
	if m.ws == wsNone || m.ws == wsOpen {
		return
	}
	m.connectionLost(loss{reason: "no welcome within " + m.cfg.ConnectionTimeout.String(), silent: true})
}

// teardownSocket forgets the socket and everything tied to it, without
// deciding what comes next.
func (m *Machine) teardownSocket() {
	switch m.ws {
	case wsToken:
		if m.tokenReq != 0 {
			m.emit(Cancel{Req: m.tokenReq})
			m.tokenReq = 0
		}
	case wsDialing, wsHandshake, wsOpen:
		m.emit(CloseSocket{Gen: m.gen, Code: wire.CloseNormal, Reason: "client closing"})
	}
	m.ws = wsNone
	m.offlineSocket = false
	m.stopTimer(TimerConnect)
	m.stopTimer(TimerStable)
	m.stopTimer(TimerVerify)
	if !m.polling {
		m.stopTimer(TimerTick)
	}
	m.verifyPing = 0
	m.pings = nil
	clear(m.resumeSince)
	for _, r := range m.rooms {
		r.live = false
		r.replayEnd = 0
		r.fetchedTo = 0
		r.pageTo = 0
	}
	m.unsendWebSocket()
}

// connectionLost ends the current socket or attempt and plans the next one.
func (m *Machine) connectionLost(l loss) {
	wasOpen := m.ws == wsOpen
	m.teardownSocket()
	m.lastError = l.reason
	if m.polling {
		// A restore attempt failed: polling goes on, WebSocket waits.
		m.logAttrs(slog.LevelDebug, "WebSocket still unavailable", "reason", l.reason)
		m.stopTimer(TimerRestore)
		m.planRestore()
		return
	}
	if wasOpen {
		m.dropped = true
		m.quality.reset()
	} else if m.online && !m.dialDoubt {
		// While the browser says it is offline, or after the network went
		// silent, a failed dial says nothing about WebSocket being
		// blocked: only failures on a network known to work count.
		m.failStreak++
	}
	if l.silent {
		m.doubtNetwork()
	}
	m.logAttrs(slog.LevelInfo, "Connection lost", "reason", l.reason)
	if !m.cfg.DisableFallbackPolling && m.failStreak >= 2 {
		// The design: WebSocket failing twice while HTTP answers means a
		// proxy or a firewall is in the way; poll at once.
		m.probe(probeFallback)
	}
	m.scheduleRetry(l)
}

// scheduleRetry counts the attempt and waits before it.
func (m *Machine) scheduleRetry(l loss) {
	if m.attempts >= m.cfg.MaxReconnectAttempts {
		switch {
		case m.cfg.DisableFallbackPolling:
			m.suspend()
		case !m.suspended || m.online:
			// Suspended, each failed retry asks again whether HTTP
			// answers: a failed probe wipes the evidence against
			// WebSocket, so this is how a network that came back with
			// WebSocket blocked is found.
			m.probe(probeExhausted)
		}
	}
	m.attempts++
	if l.now {
		m.dropped = false
		m.connect()
		return
	}
	var d time.Duration
	switch {
	case l.exact > 0:
		d = l.exact
	case l.window > 0:
		d = m.rnd.below(l.window)
	case m.suspended:
		d = m.rnd.jittered(m.cfg.MaxReconnectDelay, m.cfg.Jitter)
	case m.dropped && m.attempts == 1 && !l.careful:
		d = m.rnd.below(FirstRetryWindow)
	default:
		d = m.rnd.jittered(backoffStep(m.attempts, m.cfg.BaseReconnectDelay, m.cfg.MaxReconnectDelay), m.cfg.Jitter)
	}
	if l.careful {
		d = max(d, m.cfg.BaseReconnectDelay)
	}
	m.dropped = false
	m.nextRetryAt = m.now.Add(d)
	m.startTimer(TimerRetry, d)
}

// suspend slows the retries to the max delay, the one planned included.
func (m *Machine) suspend() {
	if m.suspended {
		return
	}
	m.suspended = true
	m.logf(slog.LevelWarn, "Suspended after %d attempts: retrying every %s", m.attempts, m.cfg.MaxReconnectDelay)
	if m.timers[TimerRetry] != 0 {
		d := m.rnd.jittered(m.cfg.MaxReconnectDelay, m.cfg.Jitter)
		m.nextRetryAt = m.now.Add(d)
		m.startTimer(TimerRetry, d)
	}
}

func (m *Machine) onRetryTimer() {
	m.nextRetryAt = time.Time{}
	if m.ws == wsNone && !m.polling {
		m.connect()
	}
}

// tokenRefused handles a 4401 or an HTTP 401: one refresh, then
// unauthorized.
func (m *Machine) tokenRefused(reason string) {
	m.lastError = reason
	// A renewal on its way is the refresh now: its token reconnects (or
	// polls) like a refresh's, and a failure is final.
	m.tokenRenew = false
	if m.refreshing() {
		// Requests made with the old token keep failing until the new
		// one arrives: that is one refusal, not several.
		if !m.polling && m.ws == wsNone {
			m.connectStart = m.now
			m.startTimer(TimerConnect, m.cfg.ConnectionTimeout)
			m.ws = wsToken
		}
		m.planRestore()
		return
	}
	if m.refreshTried {
		m.becomeUnauthorized(reason)
		return
	}
	m.refreshTried = true
	m.logf(slog.LevelInfo, "Token refused - asking for a new one")
	if m.polling || m.ws != wsNone {
		m.fetchToken(true) // polling waits for it; no new socket needed
		m.planRestore()
		return
	}
	m.stopTimer(TimerRetry)
	m.connectStart = m.now
	m.startTimer(TimerConnect, m.cfg.ConnectionTimeout)
	m.ws = wsToken
	m.fetchToken(true)
}

// becomeUnauthorized stops everything until a new token: ForceReconnect
// asks the token source again.
func (m *Machine) becomeUnauthorized(reason string) {
	m.stopAll()
	m.unauthorized = true
	m.suspended = false
	m.nextRetryAt = time.Time{}
	m.lastError = reason
	m.logAttrs(slog.LevelWarn, "Unauthorized: waiting for a new token", "reason", reason)
}

// forceReconnect is the user's retry button: skip the wait.
func (m *Machine) forceReconnect() {
	m.logf(slog.LevelInfo, "Reconnect requested")
	if m.unauthorized {
		m.unauthorized = false
		m.refreshTried = true
		m.token = ""
		m.connectStart = m.now
		m.startTimer(TimerConnect, m.cfg.ConnectionTimeout)
		m.ws = wsToken
		m.fetchToken(true)
		return
	}
	switch m.ws {
	case wsOpen:
		m.teardownSocket()
		m.dropped = false
		m.connect()
	case wsNone:
		m.connect()
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
