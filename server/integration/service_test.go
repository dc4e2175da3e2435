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
	"tether/conn/native"
	"tether/conn/wire"
	"tether/internal/servertest"
)

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
	casey := newParticipant(t, srv.URL, room, "casey", wire.RoleCustomer)
	taylor := newParticipant(t, srv.URL, room, "taylor", wire.RoleTherapist)
	casey.waitState(t, 10*time.Second, conn.StateConnected)
	taylor.waitState(t, 10*time.Second, conn.StateConnected)

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
	casey := newParticipant(t, srv.URL, room, "casey", wire.RoleCustomer)
	taylor := newParticipant(t, srv.URL, room, "taylor", wire.RoleTherapist)
	casey.waitState(t, 10*time.Second, conn.StateConnected)
	taylor.waitState(t, 10*time.Second, conn.StateConnected)
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
