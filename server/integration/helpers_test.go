//go:build !wasm

package integration_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/chat"
	"tether/server/node"
)

// testTimeout bounds each test, so that a server that stops answering fails
// the test instead of hanging the package.
const testTimeout = 30 * time.Second

// startNode runs a dev server with the test backend on a free port and a
// fresh data folder; tune changes its settings first. It is closed when the
// test ends.
func startNode(t *testing.T, tune ...func(*node.Main)) *node.Main {
	t.Helper()
	m := newNode(t.TempDir(), tune...)
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { m.Close() })
	return m
}

func newNode(dataDir string, tune ...func(*node.Main)) *node.Main {
	m := &node.Main{
		Config: node.Config{Addr: "127.0.0.1:0", DataDir: dataDir, Dev: true, Faults: true, MetricsAddr: "127.0.0.1:0"},
		Stdout: io.Discard,
		Logger: slog.New(slog.DiscardHandler),
		Chat:   chat.Config{HelloTimeout: 500 * time.Millisecond},
	}
	for _, f := range tune {
		f(m)
	}
	return m
}

// testContext ends with the test or after testTimeout.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// token is a dev token of user for room ("" for every room, therapists
// only).
func token(t *testing.T, m *node.Main, room, user, role string) string {
	t.Helper()
	tok, err := native.DevToken(t.Context(), m.URL(), room, user, strings.ToUpper(user[:1])+user[1:], role)
	require.NoError(t, err)
	return tok
}

// dial opens a session that is closed when the test ends.
func dial(t *testing.T, m *node.Main, tok string, opts ...native.Option) *native.Conn {
	t.Helper()
	c, err := native.Dial(testContext(t), m.URL(), tok, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// user is one person of a test: a token, a WebSocket session and an HTTP
// client with the same token.
type user struct {
	tok  string
	ws   *native.Conn
	http *native.HTTPClient
}

// join gives user a token for room and a session subscribed to it.
func join(t *testing.T, m *node.Main, room, name, role string) *user {
	t.Helper()
	tok := token(t, m, room, name, role)
	u := &user{tok: tok, ws: dial(t, m, tok), http: httpClient(m, tok)}
	sub, err := u.ws.SubscribeAndWait(testContext(t), room, 0)
	require.NoError(t, err)
	require.Equal(t, room, sub.Room)
	return u
}

// startChat starts a node (tuned as startNode's tune says) and joins a
// customer and a therapist to room, the two parties of most chat tests.
func startChat(t *testing.T, room string, tune ...func(*node.Main)) (m *node.Main, casey, taylor *user) {
	t.Helper()
	m = startNode(t, tune...)
	return m, join(t, m, room, "casey", wire.RoleCustomer), join(t, m, room, "taylor", wire.RoleTherapist)
}

// talk subscribes from and to to room and checks that a message from sends
// reaches to.
func talk(t *testing.T, from, to *native.Conn, room, clientID, body string) {
	t.Helper()
	ctx := testContext(t)
	_, err := from.SubscribeAndWait(ctx, room, 0)
	require.NoError(t, err)
	_, err = to.SubscribeAndWait(ctx, room, 0)
	require.NoError(t, err)
	_, err = from.SendAndAck(ctx, room, clientID, body)
	require.NoError(t, err)
	msgs, err := to.NextMessages(ctx, room, 1)
	require.NoError(t, err)
	require.Equal(t, body, msgs[0].Body)
}

// requirePagesOfSeven reads a room of seven messages backwards in pages of
// three through read, from the newest to the empty page before seq 1.
func requirePagesOfSeven(t *testing.T, read func(before int64) []wire.Message) {
	t.Helper()
	pages := []struct {
		before int64
		want   []int64
	}{
		{0, conntest.SeqRange(5, 7)},
		{5, conntest.SeqRange(2, 4)},
		{2, conntest.SeqRange(1, 1)},
		{1, conntest.SeqRange(1, 0)},
	}
	for _, p := range pages {
		require.Equal(t, p.want, conntest.Seqs(read(p.before)), "before %d", p.before)
	}
}

func httpClient(m *node.Main, tok string) *native.HTTPClient {
	return &native.HTTPClient{BaseURL: m.URL(), Token: tok}
}

// setFaults posts a partial update of the test backend's faults.
func setFaults(t *testing.T, m *node.Main, body string) {
	t.Helper()
	_, err := httpClient(m, "").Do(t.Context(), http.MethodPost, "/api/test/faults", []byte(body), nil)
	require.NoError(t, err)
}

// requireFrameError checks that err is an error frame with code and ref.
func requireFrameError(t *testing.T, err error, code, ref string) *native.FrameError {
	t.Helper()
	var fe *native.FrameError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, code, fe.Code, "message: %s", fe.Message)
	require.Equal(t, ref, fe.Ref)
	return fe
}

// requireHTTPError checks that err is an HTTP error with status and code.
func requireHTTPError(t *testing.T, err error, status int, code string) *conn.HTTPError {
	t.Helper()
	var he *conn.HTTPError
	require.ErrorAs(t, err, &he, "want HTTP %d %s", status, code)
	require.Equal(t, status, he.Status, "message: %s", he.Message)
	require.Equal(t, code, he.Code)
	return he
}

// requireClosed reads c until it ends and checks the close code.
func requireClosed(t *testing.T, c *native.Conn, code wire.CloseCode) *native.CloseError {
	t.Helper()
	ctx := testContext(t)
	for {
		_, err := c.Next(ctx)
		if err == nil {
			continue
		}
		require.Equal(t, code, native.CloseStatus(err), "err: %v", err)
		var ce *native.CloseError
		require.ErrorAs(t, err, &ce)
		return ce
	}
}

// requireQuiet checks that c has no frame waiting: a pong answers after
// every frame queued before it, so whatever came before it is put aside
// and must be nothing.
func requireQuiet(t *testing.T, c *native.Conn) {
	t.Helper()
	ctx := testContext(t)
	id := time.Now().UnixNano()
	_, err := c.PingPong(ctx, id)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	f, err := c.Next(short)
	require.ErrorIs(t, err, context.DeadlineExceeded, "unexpected frame %#v", f)
}

// stillServes checks that the server goes on serving u: a send is acked
// and a ping answered.
func stillServes(t *testing.T, u *user, room string) {
	t.Helper()
	ctx := testContext(t)
	ack, err := u.ws.SendAndAck(ctx, room, fmt.Sprintf("alive-%d", time.Now().UnixNano()), "still here")
	require.NoError(t, err)
	require.Positive(t, ack.Seq)
	_, err = u.ws.PingPong(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, u.http.Ping(ctx))
}

// history is every message of room, oldest first.
func history(t *testing.T, h *native.HTTPClient, room string) []wire.Message {
	t.Helper()
	var all []wire.Message
	before := int64(0)
	for {
		page, err := h.History(testContext(t), room, before, wire.MaxPageLimit)
		require.NoError(t, err)
		all = append(page.Messages, all...)
		if len(page.Messages) < wire.MaxPageLimit {
			return all
		}
		before = page.Messages[0].Seq
	}
}

// bodies lists the bodies of msgs.
func bodies(msgs []wire.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	return out
}

// metric reads one sample of the server's metrics (on its -metrics-addr), 0 when absent.
func metric(t *testing.T, m *node.Main, name string) float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, m.MetricsURL(), nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	require.NoError(t, sc.Err())
	return 0
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, "condition never held: "+msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
