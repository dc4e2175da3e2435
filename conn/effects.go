package conn

import (
	"log/slog"
	"time"

	"tether/conn/wire"
)

// Effect is something the machine wants done. The service runs each one on
// its goroutine, or in a short-lived goroutine that posts the result back as
// an event carrying the same Req or Gen.
type Effect interface{ isEffect() }

// Dial opens the socket of generation Gen; Dialed answers.
type Dial struct {
	Gen uint64
}

// SendFrame writes Frame on the socket of generation Gen.
type SendFrame struct {
	Gen   uint64
	Frame wire.Frame
}

// CloseSocket closes the socket of generation Gen, or abandons its dial.
type CloseSocket struct {
	Gen    uint64
	Code   wire.CloseCode
	Reason string
}

// FetchToken asks the token source for the token, or for a new one when
// Refresh is set; TokenReady answers.
type FetchToken struct {
	Req     uint64
	Refresh bool
}

// Probe pings the server over HTTP; ProbeDone answers.
type Probe struct {
	Req uint64
}

// Poll reads the messages of Room after Since, waiting up to Wait for the
// first; PollDone answers.
type Poll struct {
	Req   uint64
	Token string
	Room  string
	Since int64
	Wait  time.Duration
	Limit int
}

// FetchHistory reads a page of Room after Since over HTTP, to fill a gap or
// to page what a replay did not recover; HistoryDone answers.
type FetchHistory struct {
	Req   uint64
	Token string
	Room  string
	Since int64
	Limit int
}

// Post sends a message over HTTP; PostDone answers.
type Post struct {
	Req      uint64
	Token    string
	Room     string
	ClientID string
	Body     string
}

// Cancel abandons the request Req (its answer, if any, is ignored).
type Cancel struct {
	Req uint64
}

// StartTimer (re)starts the timer Timer: TimerFired{Timer, ID} follows
// after After unless the timer is stopped or started again first.
type StartTimer struct {
	Timer TimerKind
	ID    uint64
	After time.Duration
}

// StopTimer stops the timer Timer.
type StopTimer struct {
	Timer TimerKind
}

// Deliver hands Messages of Room, in seq order, to the room's subscribers.
type Deliver struct {
	Room     string
	Messages []wire.Message
}

// FailRoom tells the subscribers of Room that it failed for good.
type FailRoom struct {
	Room string
	Err  error
}

// Persist says the snapshot changed and should be saved.
type Persist struct{}

// Log writes one line to the logger port.
type Log struct {
	Level slog.Level
	Msg   string
	Args  []any
}

func (Dial) isEffect()         {}
func (SendFrame) isEffect()    {}
func (CloseSocket) isEffect()  {}
func (FetchToken) isEffect()   {}
func (Probe) isEffect()        {}
func (Poll) isEffect()         {}
func (FetchHistory) isEffect() {}
func (Post) isEffect()         {}
func (Cancel) isEffect()       {}
func (StartTimer) isEffect()   {}
func (StopTimer) isEffect()    {}
func (Deliver) isEffect()      {}
func (FailRoom) isEffect()     {}
func (Persist) isEffect()      {}
func (Log) isEffect()          {}

// TimerKind names one of the machine's timers. Each runs at most once at a
// time; starting it again replaces it.
type TimerKind int

// The machine's timers.
const (
	// TimerRetry waits out the backoff before the next attempt.
	TimerRetry TimerKind = iota
	// TimerConnect bounds an attempt: token, dial and welcome.
	TimerConnect
	// TimerTick is the heartbeat: pings, the silence check, watchdogs.
	TimerTick
	// TimerVerify waits for the pong that proves a doubted link alive.
	TimerVerify
	// TimerStable resets the attempt counter once a connection lasted.
	TimerStable
	// TimerRestore tries WebSocket again while polling.
	TimerRestore
	// TimerPoll paces short polls.
	TimerPoll
	// TimerProbe bounds an HTTP probe.
	TimerProbe
	// TimerOutbox resends messages whose ack is late or whose wait is over.
	TimerOutbox
	// TimerRenew renews the token before it expires (contract v2).
	TimerRenew
	// TimerNetCheck paces the probes that watch for the network's return
	// after a silent outage.
	TimerNetCheck

	timerCount
)

var timerNames = [timerCount]string{"retry", "connect", "tick", "verify", "stable", "restore", "poll", "probe", "outbox", "renew", "netcheck"}

// String names the timer for logs and tests.
func (k TimerKind) String() string {
	if k < 0 || k >= timerCount {
		return "timer?"
	}
	return timerNames[k]
}
