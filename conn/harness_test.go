package conn_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/wire"
)

func TestMain(m *testing.M) {
	conntest.VerifyNoLeaks(m)
}

// harness is a service wired to fakes, with a fake clock the test moves.
type harness struct {
	t      *testing.T
	cfg    conn.Config
	clock  *conntest.Clock
	srv    *conntest.Server
	tokens *conntest.Tokens
	store  *conntest.Storage
	env    *conntest.Env
	logs   *logRecorder
	rand   func() float64
	svc    *conn.Service

	mu       sync.Mutex
	got      map[string][]wire.Message
	errs     map[string][]error
	statuses []conn.Status
	outboxes [][]conn.OutboxEntry
}

type option func(*harness)

func withConfig(fn func(*conn.Config)) option { return func(h *harness) { fn(&h.cfg) } }

// newHarness builds the fakes, lets opts adjust them, starts the service
// and lets it settle (connected, unless an option prevents it).
func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	clock := conntest.NewClock(time.Time{})
	h := &harness{
		t:      t,
		clock:  clock,
		srv:    conntest.NewServer(clock),
		tokens: conntest.NewTokens("token-1"),
		store:  conntest.NewStorage(),
		env:    conntest.NewEnv(),
		logs:   &logRecorder{},
		rand:   func() float64 { return 0.37 },
		got:    map[string][]wire.Message{},
		errs:   map[string][]error{},
	}
	for _, opt := range opts {
		opt(h)
	}
	h.start()
	return h
}

// parallelHarness marks the test parallel and gives it a harness of its own.
func parallelHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	t.Parallel()
	return newHarness(t, opts...)
}

func (h *harness) start() {
	h.svc = conn.New(h.cfg, conn.Ports{
		Clock:   h.clock,
		Dialer:  h.srv.Dialer(),
		HTTP:    h.srv.HTTP(),
		Tokens:  h.tokens,
		Env:     h.env,
		Storage: h.store,
		Logger:  slog.New(h.logs),
		Rand:    h.rand,
	})
	svc := h.svc
	h.t.Cleanup(func() { svc.Close() })
	svc.Watch(func(s conn.Status) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.statuses = append(h.statuses, s)
	})
	svc.WatchOutbox(func(ob []conn.OutboxEntry) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.outboxes = append(h.outboxes, ob)
	})
	h.settle()
}

// restart closes the service and starts a new one on the same fakes, as a
// page reload does.
func (h *harness) restart() {
	h.svc.Close()
	h.mu.Lock()
	h.got = map[string][]wire.Message{}
	h.statuses = nil
	h.mu.Unlock()
	h.start()
}

// settle waits until the service has nothing to do until the clock moves,
// firing the timers that are already due.
func (h *harness) settle() {
	h.t.Helper()
	if err := conntest.Settle(h.svc, h.srv, h.clock); err != nil {
		h.t.Fatal(err)
	}
}

// advance moves the clock by d, letting the service react to each timer at
// its own time.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	if err := conntest.Advance(h.svc, h.srv, h.clock, d); err != nil {
		h.t.Fatal(err)
	}
}

// until advances in small steps until cond holds, failing after limit of
// fake time; it returns the fake time it took.
func (h *harness) until(limit time.Duration, cond func() bool) time.Duration {
	h.t.Helper()
	start := h.clock.Now()
	for !cond() {
		if h.clock.Now().Sub(start) > limit {
			h.t.Fatalf("condition not met within %s", limit)
		}
		h.advance(50 * time.Millisecond)
	}
	return h.clock.Now().Sub(start)
}

// eventuallyUnblocked waits for the calls the service cancelled to leave
// the fakes: a cancelled context wakes them on their own goroutines.
func (h *harness) eventuallyUnblocked(msg string) {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return h.srv.Blocked() == 0 }, 5*time.Second, 100*time.Microsecond, msg)
}

// loseNetwork cuts the network and drops the socket with it, as a train
// entering a tunnel does, and settles: the service is left retrying.
func (h *harness) loseNetwork() {
	h.t.Helper()
	h.srv.Unplug()
	h.srv.Break(wire.CloseAbnormal, "")
	h.settle()
}

func (h *harness) status() conn.Status { return h.svc.Status() }

func (h *harness) state() conn.State { return h.svc.Status().State }

// subscribe subscribes to room, recording what arrives.
func (h *harness) subscribe(room string) (unsubscribe func()) {
	return h.subscribeAfter(room, 0)
}

// subscribeAfter subscribes as a caller that read room up to after.
func (h *harness) subscribeAfter(room string, after int64) (unsubscribe func()) {
	stop := h.svc.SubscribeAfter(room, after, func(m wire.Message) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got[room] = append(h.got[room], m)
	}, func(err error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.errs[room] = append(h.errs[room], err)
	})
	h.settle()
	return stop
}

// seqs lists the seqs delivered for room, in delivery order.
func (h *harness) seqs(room string) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return conntest.Seqs(h.got[room])
}

func (h *harness) roomErrors(room string) []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.errs[room])
}

func (h *harness) states() []conn.State {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []conn.State
	for _, s := range h.statuses {
		if len(out) == 0 || out[len(out)-1] != s.State {
			out = append(out, s.State)
		}
	}
	return out
}

func (h *harness) send(room, body string) string {
	h.t.Helper()
	id, err := h.svc.Send(room, body)
	require.NoError(h.t, err)
	h.settle()
	return id
}

// retryIn is how long until the planned retry.
func (h *harness) retryIn() time.Duration {
	at := h.status().NextRetryAt
	if at.IsZero() {
		return -1
	}
	return at.Sub(h.clock.Now())
}

// socket is the single open socket of the server.
func (h *harness) socket() *conntest.Socket {
	h.t.Helper()
	socks := h.srv.Sockets()
	require.Len(h.t, socks, 1, "open sockets")
	return socks[0]
}

func hellos(srv *conntest.Server) []*wire.Hello {
	var out []*wire.Hello
	for _, f := range srv.Received(wire.TypeHello) {
		out = append(out, f.(*wire.Hello))
	}
	return out
}

// storedClientIDs is the client_ids of what room holds on the server, in
// the order stored.
func storedClientIDs(srv *conntest.Server, room string) []string {
	var out []string
	for _, m := range srv.Messages(room) {
		out = append(out, m.ClientID)
	}
	return out
}

func countFrames(srv *conntest.Server, typ string) int { return len(srv.Received(typ)) }

// logRecorder is a slog.Handler that keeps the messages.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	if line != r.Message {
		l.lines = append(l.lines, r.Message) // the bare message, for has()
	}
	l.lines = append(l.lines, line)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) has(line string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.lines, line)
}

func (l *logRecorder) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

func (l *logRecorder) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}
