package conn

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"tether/conn/wire"
)

// The service talks to the world only through these ports. conn/browser
// implements them in the browser, conn/native on net/http and
// coder/websocket, and conn/conntest fakes them for tests.

// Clock is the only source of time: no wall-clock call happens elsewhere.
// SystemClock is the real one, the same in the browser and in Go programs.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on its own goroutine after d, unless stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled call of a Clock.
type Timer interface {
	// Stop cancels the call; it reports whether it stopped it in time.
	Stop() bool
}

// Dialer opens WebSocket connections to the server (subprotocol tether.v1).
type Dialer interface {
	// Dial opens a socket and returns once it is open, or fails. The
	// socket reports what happens to it through events until it closes;
	// events are called one at a time and must not block.
	Dial(ctx context.Context, events SocketEvents) (Socket, error)
}

// SocketEvents are the calls a Socket makes. OnClose is the last one.
type SocketEvents struct {
	// OnFrame receives each text frame as it arrived.
	OnFrame func(data []byte)
	// OnClose reports the end of the socket: the close code (1006 when
	// there was no close frame) and its reason.
	OnClose func(code wire.CloseCode, reason string)
}

// Socket is one open WebSocket.
type Socket interface {
	// Send writes one text frame. It does not wait for the peer.
	Send(data []byte) error
	// Close starts the closing handshake; OnClose follows.
	Close(code wire.CloseCode, reason string) error
}

// HTTP is the server's HTTP API: the probe, the polling fallback and the
// history pages. Calls carry the token; they return *HTTPError for an answer
// that is not a success, and other errors when the server could not be
// reached.
type HTTP interface {
	// Ping probes the server (GET /api/ping).
	Ping(ctx context.Context) error
	// Messages long-polls a room: the messages after since, waiting up to
	// wait for the first (GET /api/rooms/{room}/messages?since&wait&limit).
	Messages(ctx context.Context, token, room string, since int64, wait time.Duration, limit int) (wire.MessagesPage, error)
	// History reads a page of older messages: up to limit messages of room
	// with seq < before, the newest of them, in seq order
	// (GET /api/rooms/{room}/messages?before&limit). A before of 0 or less
	// reads the newest page; the server takes before >= 1 only, so a port
	// sends the largest int64 for it. A limit of 0 or less takes the
	// server's default.
	History(ctx context.Context, token, room string, before int64, limit int) (wire.MessagesPage, error)
	// Post sends a message (POST /api/rooms/{room}/messages); a repeat of
	// clientID returns the first answer.
	Post(ctx context.Context, token, room, clientID, body string) (wire.Posted, error)
}

// HTTPError is an answer of the server that is not a success, as both the
// browser's and the native ports return it: its status, and the code and
// message of the protocol's JSON error body (wire.ErrorBody) when it has one.
type HTTPError struct {
	Status int
	// Code is the body's error code; empty when the answer did not carry
	// the protocol's error body (a proxy's page, say).
	Code    string
	Message string
	// RetryAfter is the Retry-After header, 0 when absent.
	RetryAfter time.Duration
	// Cause is the library's error behind the answer when there is one (a
	// refused WebSocket upgrade); nil for a plain HTTP answer.
	Cause error
}

// Error says "server answered CODE: MESSAGE", or "server answered HTTP
// STATUS" when there is no code. The banner finds revoked and expired
// sessions by that text in Status.LastError, so it stays this way.
func (e *HTTPError) Error() string {
	if e.Code == "" {
		s := "server answered HTTP " + strconv.Itoa(e.Status)
		if e.Message != "" {
			s += ": " + e.Message
		}
		return s
	}
	return "server answered " + e.Code + ": " + e.Message
}

// Unwrap returns Cause, so errors.Is and errors.As see the library's error.
func (e *HTTPError) Unwrap() error { return e.Cause }

// StatusOf is the status of the server's answer that err carries, and that
// answer; 0 and nil when err is nil or no answer came (the network failed).
func StatusOf(err error) (int, *HTTPError) {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status, he
	}
	return 0, nil
}

// TokenSource hands out the token of the session.
type TokenSource interface {
	// Token returns the current token.
	Token(ctx context.Context) (string, error)
	// Refresh returns a new token after the server refused the current one;
	// an error means there is none to be had (the user must sign in again).
	Refresh(ctx context.Context) (string, error)
}

// EnvEvent is a change of the page or the network that the browser reports.
type EnvEvent int

// Environment events.
const (
	EnvOnline   EnvEvent = iota + 1 // the browser says the network is back
	EnvOffline                      // the browser says the network is gone (a hint)
	EnvVisible                      // the page became visible
	EnvHidden                       // the page was hidden
	EnvPageShow                     // the page came back from the back-forward cache
	EnvResume                       // a frozen page runs again
	EnvFreeze                       // the page is about to be frozen
)

// Environment is the browser around the service: network and visibility.
type Environment interface {
	// Online is the browser's view of the network at start.
	Online() bool
	// Visible reports whether the page is visible at start.
	Visible() bool
	// Watch calls fn for each change until stop is called. fn must not block.
	Watch(fn func(EnvEvent)) (stop func())
}

// Snapshot is what the service keeps across a reload: the outbox and the
// last seq received of each room.
type Snapshot struct {
	Outbox  []OutboxEntry    `json:"outbox"`
	LastSeq map[string]int64 `json:"last_seq"`
}

// OutboxEntry is a message the user sent that the server has not acked yet,
// or that failed.
type OutboxEntry struct {
	ClientID string    `json:"client_id"`
	Room     string    `json:"room"`
	Body     string    `json:"body"`
	Created  time.Time `json:"created"`
	Failed   bool      `json:"failed,omitempty"`
	// LastError says why a failed message failed, for the UI.
	LastError string `json:"last_error,omitempty"`
}

// Storage persists the snapshot (localStorage in the browser).
type Storage interface {
	Load() (Snapshot, error)
	Save(Snapshot) error
}

// Ports are everything the service needs from outside. Logger may be nil.
type Ports struct {
	Clock   Clock
	Dialer  Dialer
	HTTP    HTTP
	Tokens  TokenSource
	Env     Environment
	Storage Storage
	Logger  *slog.Logger
	// Rand returns numbers in [0, 1) for jitter; nil uses a fixed seed
	// derived from the clock.
	Rand func() float64
}
