//go:build !wasm

package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/internal/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

// These tests run the stability service with its native ports against the
// real server process, and break the server for real: kill -9 and restart,
// WebSocket refused, pongs muted. Messages must flow again, none lost and
// none repeated.

// fastConfig shortens the service's timings so a test sees several
// recoveries in seconds; the logic is the production one.
var fastConfig = conn.Config{
	BaseReconnectDelay:       100 * time.Millisecond,
	MaxReconnectDelay:        time.Second,
	HeartbeatInterval:        3 * time.Second,
	QualityCheckInterval:     time.Second,
	ConnectionTimeout:        2 * time.Second,
	WebSocketRestoreInterval: 2 * time.Second,
	PollInterval:             500 * time.Millisecond,
	LongPollWait:             2 * time.Second,
	StableAfter:              time.Second,
	AckTimeout:               2 * time.Second,
}

// participant is one side of a booking chat, through the service.
type participant struct {
	name string
	svc  *conn.Service
	mu   sync.Mutex
	got  []wire.Message
	errs []error
}

func newParticipant(t *testing.T, baseURL, room, user, role string) *participant {
	t.Helper()
	ctx := testContext(t)
	tok, err := native.DevToken(ctx, baseURL, room, user, user, role)
	require.NoError(t, err)
	tokens := native.NewStaticTokens(tok)
	tokens.RefreshFunc = func(ctx context.Context) (string, error) {
		return native.DevToken(ctx, baseURL, room, user, user, role)
	}
	p := &participant{name: user}
	p.svc = conn.New(fastConfig, native.Ports(baseURL, tokens))
	t.Cleanup(p.svc.Close)
	p.svc.SubscribeToMessages(room, func(m wire.Message) {
		p.mu.Lock()
		p.got = append(p.got, m)
		p.mu.Unlock()
	}, func(err error) {
		p.mu.Lock()
		p.errs = append(p.errs, err)
		p.mu.Unlock()
	})
	return p
}

// connectedPair opens casey, the customer, and taylor, the therapist, on
// room and waits until both are connected.
func connectedPair(t *testing.T, baseURL, room string) (casey, taylor *participant) {
	t.Helper()
	casey = newParticipant(t, baseURL, room, "casey", wire.RoleCustomer)
	taylor = newParticipant(t, baseURL, room, "taylor", wire.RoleTherapist)
	casey.waitState(t, 10*time.Second, conn.StateConnected)
	taylor.waitState(t, 10*time.Second, conn.StateConnected)
	return casey, taylor
}

func (p *participant) messages() []wire.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

func (p *participant) send(t *testing.T, room, body string) {
	t.Helper()
	_, err := p.svc.Send(room, body)
	require.NoError(t, err)
}

// waitFor waits until the participant holds n messages.
func (p *participant) waitFor(t *testing.T, n int, within time.Duration) {
	t.Helper()
	eventually(t, within, func() bool { return len(p.messages()) >= n },
		fmt.Sprintf("%s to hold %d messages", p.name, n))
}

func (p *participant) waitState(t *testing.T, within time.Duration, states ...conn.State) {
	t.Helper()
	eventually(t, within, func() bool { return slices.Contains(states, p.svc.Status().State) },
		fmt.Sprintf("%s to be %v (is %v)", p.name, states, p.svc.Status().State))
}

// requireExactlyOnce checks that got is the room's whole history: seqs 1..n
// in order, each once, with the bodies that were sent.
func requireExactlyOnce(t *testing.T, who string, got []wire.Message, sent []string) {
	t.Helper()
	require.Len(t, got, len(sent), "%s: %v", who, bodies(got))
	for i, m := range got {
		assert.Equal(t, int64(i+1), m.Seq, "%s: seq order", who)
	}
	assert.ElementsMatch(t, sent, bodies(got), who)
}

// takeTurns has casey and taylor each send three messages to room in turn,
// their bodies made of caseyFormat and taylorFormat with the turn's number,
// waits until both hold the six, and returns the bodies sent.
func takeTurns(t *testing.T, room string, within time.Duration, casey, taylor *participant, caseyFormat, taylorFormat string) []string {
	t.Helper()
	var sent []string
	for i := range 3 {
		sent = sayBoth(t, room, sent, casey, taylor, fmt.Sprintf(caseyFormat, i), fmt.Sprintf(taylorFormat, i))
	}
	casey.waitFor(t, len(sent), within)
	taylor.waitFor(t, len(sent), within)
	return sent
}

// sayBoth has casey send caseyBody and taylor taylorBody to room, and
// returns sent with the two added.
func sayBoth(t *testing.T, room string, sent []string, casey, taylor *participant, caseyBody, taylorBody string) []string {
	t.Helper()
	casey.send(t, room, caseyBody)
	taylor.send(t, room, taylorBody)
	return append(sent, caseyBody, taylorBody)
}

// requireDelivered waits until each of ps holds as many messages as were
// sent, then a while longer, for a repeat would arrive then, and checks
// that each got every one exactly once.
func requireDelivered(t *testing.T, sent []string, within time.Duration, ps ...*participant) {
	t.Helper()
	for _, p := range ps {
		p.waitFor(t, len(sent), within)
	}
	time.Sleep(500 * time.Millisecond)
	for _, p := range ps {
		requireExactlyOnce(t, p.name, p.messages(), sent)
	}
}

func setProcessFaults(t *testing.T, baseURL, body string) {
	t.Helper()
	res, err := http.Post(baseURL+"/api/test/faults", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

func TestServiceSurvivesAServerCrash(t *testing.T) {
	t.Parallel()
	const room = "svc-crash"
	addr, data := servertest.FreeAddr(t), t.TempDir()
	srv := servertest.Start(t, servertest.Options{Addr: addr, DataDir: data, Args: []string{"-dev"}})
	casey, taylor := connectedPair(t, srv.URL, room)

	sent := takeTurns(t, room, 10*time.Second, casey, taylor, "casey before %d", "taylor before %d")

	srv.Kill()
	casey.waitState(t, 10*time.Second, conn.StateReconnecting, conn.StatePolling, conn.StateSuspended, conn.StateOffline)
	taylor.waitState(t, 10*time.Second, conn.StateReconnecting, conn.StatePolling, conn.StateSuspended, conn.StateOffline)
	sent = sayBoth(t, room, sent, casey, taylor, "casey while down", "taylor while down")

	servertest.Start(t, servertest.Options{Addr: addr, DataDir: data, Args: []string{"-dev"}})
	casey.waitState(t, 20*time.Second, conn.StateConnected)
	requireDelivered(t, sent, 20*time.Second, casey, taylor)
}

func TestServiceFallsBackToPollingAndReturns(t *testing.T) {
	t.Parallel()
	const room = "svc-polling"
	srv := servertest.Start(t, servertest.Options{Args: []string{"-dev", "-faults"}})
	taylor := newParticipant(t, srv.URL, room, "taylor", wire.RoleTherapist)
	taylor.waitState(t, 10*time.Second, conn.StateConnected)

	setProcessFaults(t, srv.URL, `{"refuse_websocket":true}`)
	casey := newParticipant(t, srv.URL, room, "casey", wire.RoleCustomer)
	casey.waitState(t, 20*time.Second, conn.StatePolling)
	assert.Equal(t, conn.TransportPolling, casey.svc.Status().ConnectionType)

	sent := takeTurns(t, room, 15*time.Second, casey, taylor, "casey polling %d", "taylor to poller %d")

	setProcessFaults(t, srv.URL, `{"refuse_websocket":false}`)
	casey.waitState(t, 20*time.Second, conn.StateConnected)
	assert.Equal(t, conn.TransportWebSocket, casey.svc.Status().ConnectionType)
	sent = sayBoth(t, room, sent, casey, taylor, "casey back on websocket", "taylor after the switch")
	requireDelivered(t, sent, 15*time.Second, casey, taylor)
}

func TestServiceDetectsAHalfOpenLink(t *testing.T) {
	t.Parallel()
	const room = "svc-halfopen"
	srv := servertest.Start(t, servertest.Options{Args: []string{"-dev", "-faults"}})
	casey, taylor := connectedPair(t, srv.URL, room)
	casey.send(t, room, "before the silence")
	taylor.waitFor(t, 1, 10*time.Second)

	// With pongs muted and nothing else to say, the link looks dead: the
	// heartbeat must notice within its budget and reconnect.
	setProcessFaults(t, srv.URL, `{"mute_pongs":true}`)
	casey.waitState(t, 3*fastConfig.HeartbeatInterval+5*time.Second,
		conn.StateReconnecting, conn.StatePolling, conn.StateConnecting, conn.StateSuspended)
	setProcessFaults(t, srv.URL, `{"mute_pongs":false}`)
	casey.waitState(t, 20*time.Second, conn.StateConnected)

	sent := sayBoth(t, room, []string{"before the silence"}, casey, taylor, "after the silence", "reply")
	requireDelivered(t, sent, 15*time.Second, casey, taylor)
}

// socketRecorder collects what a native socket reports.
type socketRecorder struct {
	mu     sync.Mutex
	frames []wire.Frame
	code   wire.CloseCode
	reason string
	closed chan struct{}
}

func newSocketRecorder() *socketRecorder { return &socketRecorder{closed: make(chan struct{})} }

func (r *socketRecorder) events(t *testing.T) conn.SocketEvents {
	return conn.SocketEvents{
		OnFrame: func(data []byte) {
			f, err := wire.Decode(data)
			assert.NoError(t, err)
			r.mu.Lock()
			r.frames = append(r.frames, f)
			r.mu.Unlock()
		},
		OnClose: func(code wire.CloseCode, reason string) {
			r.mu.Lock()
			r.code, r.reason = code, reason
			r.mu.Unlock()
			close(r.closed)
		},
	}
}

func (r *socketRecorder) waitFrames(t *testing.T, n int) []wire.Frame {
	t.Helper()
	eventually(t, 5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.frames) >= n
	}, "frames")
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wire.Frame(nil), r.frames...)
}

func (r *socketRecorder) waitClose(t *testing.T) (wire.CloseCode, string) {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the socket did not report its end")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.code, r.reason
}

// The service's native ports speak the real protocol: frames in order, the
// close code the server chose, 1006 when the link is cut, and the HTTP
// answers mapped to the port's errors.
func TestNativePortsAgainstTheServer(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	ctx := testContext(t)
	tok := token(t, m, "ports-room", "casey", wire.RoleCustomer)
	encode := func(f wire.Frame) []byte {
		b, err := wire.Encode(f)
		require.NoError(t, err)
		return b
	}

	t.Run("frames arrive in order and a drain closes with 4001", func(t *testing.T) {
		rec := newSocketRecorder()
		sock, err := (&native.Dialer{BaseURL: m.URL()}).Dial(ctx, rec.events(t))
		require.NoError(t, err)
		require.NoError(t, sock.Send(encode(&wire.Hello{Token: tok})))
		require.NoError(t, sock.Send(encode(&wire.Ping{ID: 7})))
		frames := rec.waitFrames(t, 2)
		require.IsType(t, &wire.Welcome{}, frames[0])
		require.Equal(t, &wire.Pong{ID: 7, ServerTime: frames[1].(*wire.Pong).ServerTime}, frames[1])

		require.NoError(t, sock.Close(wire.CloseNormal, "bye"))
		code, _ := rec.waitClose(t)
		assert.Equal(t, wire.CloseNormal, code)
	})

	t.Run("a bad token is closed with 4401", func(t *testing.T) {
		rec := newSocketRecorder()
		sock, err := (&native.Dialer{BaseURL: m.URL()}).Dial(ctx, rec.events(t))
		require.NoError(t, err)
		require.NoError(t, sock.Send(encode(&wire.Hello{Token: "not-a-token"})))
		code, reason := rec.waitClose(t)
		assert.Equal(t, wire.CloseUnauthorized, code)
		assert.Equal(t, "invalid token", reason)
	})

	t.Run("a dropped link reports 1006", func(t *testing.T) {
		rec := newSocketRecorder()
		sock, err := (&native.Dialer{BaseURL: m.URL()}).Dial(ctx, rec.events(t))
		require.NoError(t, err)
		require.NoError(t, sock.Send(encode(&wire.Hello{Token: tok})))
		rec.waitFrames(t, 1)
		setFaults(t, m, `{"drop":"all"}`)
		code, _ := rec.waitClose(t)
		assert.Equal(t, wire.CloseAbnormal, code)
	})

	t.Run("a refused upgrade is an HTTP 503", func(t *testing.T) {
		setFaults(t, m, `{"refuse_websocket":true}`)
		defer setFaults(t, m, `{"refuse_websocket":false}`)
		_, err := (&native.Dialer{BaseURL: m.URL()}).Dial(ctx, newSocketRecorder().events(t))
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 503, he.Status)
	})

	t.Run("HTTP posts, long-polls and maps errors", func(t *testing.T) {
		h := &native.HTTP{BaseURL: m.URL()}
		require.NoError(t, h.Ping(ctx))
		posted, err := h.Post(ctx, tok, "ports-room", "p-1", "over HTTP")
		require.NoError(t, err)
		page, err := h.Messages(ctx, tok, "ports-room", posted.Seq-1, time.Second, 10)
		require.NoError(t, err)
		require.Len(t, page.Messages, 1)
		assert.Equal(t, "over HTTP", page.Messages[0].Body)

		_, err = h.Post(ctx, tok, "another-room", "p-2", "not mine")
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 403, he.Status)
		assert.Equal(t, wire.CodeForbidden, he.Code)
	})
}

// The service's history pages against the real server: what a chat shows
// above the messages it was delivered.

func TestServiceHistoryAgainstTheServer(t *testing.T) {
	t.Parallel()
	const room = "svc-history"
	m := startNode(t)
	ctx := testContext(t)
	casey := httpClient(m, token(t, m, room, "casey", wire.RoleCustomer))
	for i := 1; i <= 7; i++ {
		_, _, err := casey.Post(ctx, room, fmt.Sprintf("h-%d", i), fmt.Sprintf("m%d", i))
		require.NoError(t, err)
	}

	newService := func(t *testing.T, tokens conn.TokenSource) *conn.Service {
		svc := conn.New(fastConfig, native.Ports(m.URL(), tokens))
		t.Cleanup(svc.Close)
		return svc
	}

	t.Run("pages go backwards from the newest, each in seq order", func(t *testing.T) {
		svc := newService(t, native.NewStaticTokens(token(t, m, room, "taylor", wire.RoleTherapist)))
		requirePagesOfSeven(t, func(before int64) []wire.Message {
			msgs, err := svc.History(ctx, room, before, 3)
			require.NoError(t, err)
			return msgs
		})
		msgs, err := svc.History(ctx, room, 0, 0)
		require.NoError(t, err)
		assert.Equal(t, []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7"}, bodies(msgs), "limit 0 takes the server's default page")
	})

	t.Run("a refused token is renewed and the page read with the new one", func(t *testing.T) {
		tokens := native.NewStaticTokens("not-a-token")
		tokens.RefreshFunc = func(ctx context.Context) (string, error) {
			return native.DevToken(ctx, m.URL(), room, "taylor", "Taylor", wire.RoleTherapist)
		}
		svc := newService(t, tokens)
		msgs, err := svc.History(ctx, room, 0, 2)
		require.NoError(t, err)
		assert.Equal(t, conntest.SeqRange(6, 7), conntest.Seqs(msgs))
	})

	t.Run("a room of someone else is forbidden", func(t *testing.T) {
		svc := newService(t, native.NewStaticTokens(token(t, m, room, "taylor", wire.RoleTherapist)))
		_, err := svc.History(ctx, "someone-else", 0, 10)
		assert.ErrorIs(t, err, conn.ErrForbidden)
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 403, he.Status)
	})
}
