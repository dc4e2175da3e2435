package conn

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"tether/conn/wire"
)

// LogPrefix starts every line the service logs, as the original did.
const LogPrefix = "ConnectionStability: "

// wsPhase is where the WebSocket transport stands.
type wsPhase int

const (
	wsNone      wsPhase = iota // no socket, none coming
	wsToken                    // waiting for the token before dialing
	wsDialing                  // Dial is running
	wsHandshake                // open, hello sent, waiting for welcome
	wsOpen                     // welcomed: the chat runs over it
)

// probeReason says why an HTTP probe runs; several may share one probe.
type probeReason uint8

const (
	probeFallback  probeReason = 1 << iota // WebSocket failed twice: does HTTP work?
	probeExhausted                         // MaxReconnectAttempts reached: polling once more
	probeOffline                           // the browser says offline: does it?
	probeHealth                            // polling: quality sample and liveness
	probeNetwork                           // after a silent outage: is the network back?
)

// Machine is the whole state of the connection. It is a value: Next returns
// a new one and never changes the one it was given, so transitions can be
// table-tested and fuzzed. The service owns one Machine on its goroutine.
type Machine struct {
	cfg Config
	now time.Time
	rnd rng
	ids uint64 // the last id handed out: generations, requests, timers, pings

	closed       bool
	unauthorized bool
	suspended    bool
	online       bool // the browser's hint, corrected by evidence
	// offlineSocket: the open socket lived through an offline spell and has
	// not answered since; it is replaced when the network is back.
	offlineSocket bool
	visible       bool
	connected     bool // a transport has worked at least once

	token        string
	tokenReq     uint64 // the pending FetchToken, or 0
	tokenRefresh bool   // the pending FetchToken is a refresh
	tokenRenew   bool   // the pending FetchToken renews a token still valid
	helloToken   string // the token the open socket's hello carried, or its auth
	refreshTried bool   // a refresh was tried since the last welcome

	ws           wsPhase
	gen          uint64 // generation of the current or last socket
	connectStart time.Time
	helloAt      time.Time
	resumeSince  map[string]int64 // what the hello or subscribe of each room asked for

	attempts   int
	failStreak int // WebSocket attempts failed in a row before a welcome
	// netDoubt: the network itself went silent (no frame, no welcome, a
	// probe with no answer) and nothing has answered since. Attempts that
	// start then say nothing about WebSocket (dialDoubt marks the current
	// one), and probes watch for the network's return.
	netDoubt  bool
	dialDoubt bool
	wakes     int // see Status.Wakes
	// restarting: the server said it drains (4001); until a welcome its
	// refused dials are a restart, not a proxy blocking WebSocket.
	restarting  bool
	dropped     bool // the last connection was welcomed, then lost
	nextRetryAt time.Time
	lastError   string

	lastInbound time.Time
	lastTick    time.Time
	pings       []pendingPing
	verifyPing  int64 // the ping whose pong proves a doubted link, or 0
	quality     smoother

	probeReq uint64
	probeAt  time.Time
	probeWhy probeReason

	polling      bool
	pollWait     time.Duration // long-poll wait; 0 means short polls
	pollFailures int

	rooms         map[string]*room
	outbox        []outboxItem
	outboxVersion uint64
	outboxDue     time.Time

	timers [timerCount]uint64 // the id of each running timer, 0 when stopped

	fx []Effect // effects of the step in progress
	// The hidden heartbeat's pace (Config.HiddenPingInterval): serverBeat
	// is the welcome's heartbeat_ms, hiddenPace the pace of this link (0:
	// not started), hiddenCap what an idle drop taught (0: nothing).
	serverBeat time.Duration
	hiddenPace time.Duration
	hiddenCap  time.Duration
}

type pendingPing struct {
	id int64
	at time.Time
}

// Init is what a machine starts from.
type Init struct {
	// Snapshot is what the last session persisted.
	Snapshot Snapshot
	// Seed seeds the jitter PRNG.
	Seed uint64
	// Online and Visible are the browser's view at start.
	Online, Visible bool
}

// NewMachine returns a machine that has not started: Next it Started{}.
func NewMachine(cfg Config, init Init) Machine {
	m := Machine{
		cfg:         cfg.withDefaults(),
		rnd:         rng{state: init.Seed},
		online:      init.Online,
		visible:     init.Visible,
		rooms:       map[string]*room{},
		resumeSince: map[string]int64{},
	}
	if m.cfg.DisableNetworkDetection {
		m.online = true
	}
	for name, seq := range init.Snapshot.LastSeq {
		if wire.ValidRoom(name) && seq > 0 {
			m.rooms[name] = &room{lastSeq: seq}
		}
	}
	seen := map[string]bool{}
	for _, e := range init.Snapshot.Outbox {
		if !wire.ValidClientID(e.ClientID) || !wire.ValidRoom(e.Room) || seen[e.ClientID] {
			continue
		}
		seen[e.ClientID] = true
		m.outbox = append(m.outbox, outboxItem{OutboxEntry: e})
	}
	return m
}

// Next is the transition function: the machine m, at time now, meets ev. It
// returns the machine after the event and the effects to run, in order. It
// does no I/O and reads no clock; m itself is left unchanged.
func Next(m Machine, now time.Time, ev Event) (Machine, []Effect) {
	m = m.clone()
	fx := m.step(now, ev)
	return m, fx
}

// clone copies everything a step may change in place.
func (m Machine) clone() Machine {
	m.rooms = maps.Clone(m.rooms)
	for name, r := range m.rooms {
		c := *r
		c.buffer = slices.Clone(r.buffer)
		m.rooms[name] = &c
	}
	m.resumeSince = maps.Clone(m.resumeSince)
	m.outbox = slices.Clone(m.outbox)
	m.pings = slices.Clone(m.pings)
	m.fx = nil
	return m
}

// step applies ev in place and returns the effects. The service calls it
// directly on the machine it owns; Next wraps it for a pure call.
func (m *Machine) step(now time.Time, ev Event) []Effect {
	m.fx = nil
	if m.closed {
		return nil
	}
	m.now = now
	switch ev := ev.(type) {
	case Started:
		m.start()
	case TokenReady:
		m.onToken(ev)
	case Dialed:
		m.onDialed(ev)
	case FrameReceived:
		m.onFrame(ev)
	case SocketClosed:
		m.onSocketClosed(ev)
	case ProbeDone:
		m.onProbe(ev)
	case PollDone:
		m.onPoll(ev)
	case HistoryDone:
		m.onHistory(ev)
	case PostDone:
		m.onPosted(ev)
	case TimerFired:
		m.onTimer(ev)
	case EnvChanged:
		m.onEnv(ev.Event)
	case RoomWanted:
		m.wantRoom(ev.Room, ev.After)
	case RoomUnwanted:
		m.unwantRoom(ev.Room)
	case SendRequested:
		m.enqueue(ev.Entry)
	case RetryRequested:
		m.retryMessage(ev.ClientID)
	case DiscardRequested:
		m.discardMessage(ev.ClientID)
	case ReconnectRequested:
		m.forceReconnect()
	case CloseRequested:
		m.close()
	}
	fx := m.fx
	m.fx = nil
	return fx
}

func (m *Machine) onTimer(ev TimerFired) {
	if ev.Timer < 0 || ev.Timer >= timerCount || ev.ID == 0 || m.timers[ev.Timer] != ev.ID {
		return // stale: stopped or restarted since
	}
	m.timers[ev.Timer] = 0
	switch ev.Timer {
	case TimerRetry:
		m.onRetryTimer()
	case TimerConnect:
		m.onConnectTimeout()
	case TimerTick:
		m.onTick()
	case TimerVerify:
		m.onVerifyTimeout()
	case TimerStable:
		m.attempts = 0
		m.failStreak = 0
	case TimerRestore:
		m.onRestoreTimer()
	case TimerPoll:
		m.pollAll()
		m.flushOutbox()
	case TimerProbe:
		m.onProbeTimeout()
	case TimerOutbox:
		m.onOutboxTimer()
	case TimerRenew:
		m.renewToken()
	case TimerNetCheck:
		m.onNetCheck()
	}
}

// start is the first step: connect.
func (m *Machine) start() {
	m.logf(slog.LevelInfo, "Initializing...")
	if !m.online {
		m.probe(probeOffline)
	}
	m.connect()
}

// stopAll ends the socket, the polling, the requests and every timer: what
// close and becomeUnauthorized both leave nothing of.
func (m *Machine) stopAll() {
	m.teardownSocket()
	m.stopPolling()
	m.cancelRequests()
	for k := range m.timers {
		m.stopTimer(TimerKind(k))
	}
}

// close ends everything: no timer, socket or request survives it.
func (m *Machine) close() {
	m.stopAll()
	m.closed = true
	m.nextRetryAt = time.Time{}
	m.emit(Persist{})
	m.logf(slog.LevelInfo, "Closed")
}

// cancelRequests abandons every HTTP or token request in flight.
func (m *Machine) cancelRequests() {
	if m.tokenReq != 0 {
		m.emit(Cancel{Req: m.tokenReq})
		m.tokenReq = 0
	}
	if m.probeReq != 0 {
		m.emit(Cancel{Req: m.probeReq})
		m.probeReq, m.probeWhy = 0, 0
	}
	for _, name := range m.roomNames() {
		r := m.rooms[name]
		if r.fetchReq != 0 {
			m.emit(Cancel{Req: r.fetchReq})
			r.fetchReq = 0
		}
	}
	for i := range m.outbox {
		it := &m.outbox[i]
		if it.inflight && it.viaPost {
			m.emit(Cancel{Req: it.via})
			it.inflight = false
		}
	}
}

// State is the state the status shows. Being offline outranks the
// transports: the browser's offline hint shows at once, until a pong or a
// probe proves the network works.
func (m *Machine) State() State {
	switch {
	case m.closed:
		return StateClosed
	case m.unauthorized:
		return StateUnauthorized
	case !m.online:
		return StateOffline
	case m.ws == wsOpen:
		return StateConnected
	case m.polling:
		return StatePolling
	case m.suspended:
		return StateSuspended
	case !m.connected && m.attempts == 0:
		return StateConnecting
	default:
		return StateReconnecting
	}
}

// Status is the machine as the user sees it.
func (m *Machine) Status() Status {
	s := Status{
		State:             m.State(),
		Quality:           QualityDisconnected,
		ConnectionType:    TransportNone,
		ReconnectAttempts: m.attempts,
		NextRetryAt:       m.nextRetryAt,
		LastError:         m.lastError,
		Wakes:             m.wakes,
	}
	switch s.State {
	case StateConnected:
		s.ConnectionType = TransportWebSocket
	case StatePolling:
		s.ConnectionType = TransportPolling
	default:
		return s
	}
	s.IsConnected = true
	s.Latency = m.quality.latency()
	s.Quality = QualityOf(s.Latency)
	return s
}

// Snapshot is what the machine persists: the outbox and the last seq of
// every room it knows.
func (m *Machine) Snapshot() Snapshot {
	snap := Snapshot{Outbox: m.Outbox(), LastSeq: map[string]int64{}}
	for name, r := range m.rooms {
		if r.lastSeq > 0 {
			snap.LastSeq[name] = r.lastSeq
		}
	}
	return snap
}

// Transport is what carries the chat right now: websocket, polling or none.
// The machine never runs two at once.
func (m *Machine) Transport() ConnectionType {
	switch {
	case m.ws == wsOpen:
		return TransportWebSocket
	case m.polling:
		return TransportPolling
	default:
		return TransportNone
	}
}

// Timers lists the timers running, for tests and invariant checks.
func (m *Machine) Timers() []TimerKind {
	var ks []TimerKind
	for k, id := range m.timers {
		if id != 0 {
			ks = append(ks, TimerKind(k))
		}
	}
	return ks
}

// Check reports a broken invariant of the machine, or nil. The fuzz target
// runs it after every step.
func (m *Machine) Check() error {
	st := m.Status()
	switch {
	case m.ws == wsOpen && m.polling:
		return fmt.Errorf("two transports at once")
	case m.attempts < 0:
		return fmt.Errorf("attempts %d is negative", m.attempts)
	case m.closed && (len(m.Timers()) > 0 || m.ws != wsNone || m.polling || m.tokenReq != 0 || m.probeReq != 0):
		return fmt.Errorf("closed with something running: timers %v, ws %d, polling %v", m.Timers(), m.ws, m.polling)
	case m.unauthorized && (m.ws != wsNone || m.polling || m.timers[TimerRetry] != 0 || m.timers[TimerTick] != 0):
		return fmt.Errorf("unauthorized with a transport or a retry")
	case st.IsConnected != (st.State == StateConnected || st.State == StatePolling):
		return fmt.Errorf("state %s with IsConnected %v", st.State, st.IsConnected)
	case st.IsConnected && st.ConnectionType == TransportNone:
		return fmt.Errorf("connected without a transport")
	case !st.IsConnected && (st.ConnectionType != TransportNone || st.Quality != QualityDisconnected):
		return fmt.Errorf("state %s shows transport %s and quality %s", st.State, st.ConnectionType, st.Quality)
	case st.State == StateConnected && m.timers[TimerTick] == 0:
		return fmt.Errorf("connected without a heartbeat")
	case m.ws == wsNone && !m.polling && !m.closed && !m.unauthorized && m.timers[TimerRetry] == 0 && m.probeReq == 0:
		return fmt.Errorf("no transport and nothing that will bring one")
	case m.polling && m.timers[TimerRestore] == 0 && m.ws == wsNone:
		return fmt.Errorf("polling without a WebSocket restore planned")
	}
	for _, it := range m.outbox {
		if it.Failed && it.inflight {
			return fmt.Errorf("message %s is failed and in flight", it.ClientID)
		}
	}
	for name, r := range m.rooms {
		for i, msg := range r.buffer {
			if msg.Seq <= r.lastSeq || (i > 0 && msg.Seq <= r.buffer[i-1].Seq) {
				return fmt.Errorf("room %s buffers seq %d after %d", name, msg.Seq, r.lastSeq)
			}
		}
	}
	return nil
}

// newID hands out the next id; ids are never reused, so a stale answer can
// never match a current request.
func (m *Machine) newID() uint64 {
	m.ids++
	return m.ids
}

func (m *Machine) emit(fx ...Effect) { m.fx = append(m.fx, fx...) }

func (m *Machine) startTimer(k TimerKind, after time.Duration) {
	id := m.newID()
	m.timers[k] = id
	m.emit(StartTimer{Timer: k, ID: id, After: max(after, 0)})
}

// answers reports whether req answers the request still pending in
// *pending, and if so marks it answered: an answer to an older or abandoned
// request (or to none, req 0) is stale and changes nothing.
func answers(pending *uint64, req uint64) bool {
	if req == 0 || *pending != req {
		return false
	}
	*pending = 0
	return true
}

func (m *Machine) stopTimer(k TimerKind) {
	if m.timers[k] != 0 {
		m.timers[k] = 0
		m.emit(StopTimer{Timer: k})
	}
}

func (m *Machine) logf(level slog.Level, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	m.emit(Log{Level: level, Msg: logMark(msg) + LogPrefix + msg})
}

// logAttrs logs a fixed message with structured attributes.
func (m *Machine) logAttrs(level slog.Level, msg string, args ...any) {
	m.emit(Log{Level: level, Msg: logMark(msg) + LogPrefix + msg, Args: args})
}

// logMarks are the original service's emoji, on the lines it wrote them on:
// people find those lines in their consoles by them.
var logMarks = []struct{ start, mark string }{
	{"Initializing", "🔌 "},
	{"WebSocket connected", "✅ "},
	{"WebSocket restored", "✅ "},
	{"Heartbeat timeout detected", "⚠️ "},
	{"Heartbeat failed", "💔 "},
	{"Reconnect attempt", "🔄 "},
	{"Switching to polling", "🔄 "},
}

// logMark is the emoji msg starts with, or "".
func logMark(msg string) string {
	for _, lm := range logMarks {
		if strings.HasPrefix(msg, lm.start) {
			return lm.mark
		}
	}
	return ""
}

func (m *Machine) roomNames() []string {
	return slices.Sorted(maps.Keys(m.rooms))
}
