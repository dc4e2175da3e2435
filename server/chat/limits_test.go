//go:build !wasm

package chat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"tether/conn"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/api"
	"tether/server/auth"
	"tether/server/chat"
	"tether/server/metrics"
	"tether/server/store"
	"tether/server/store/sqlite"
)

// limitTimeout bounds every wait of these tests: a bound that does not
// hold fails the test instead of hanging it.
const limitTimeout = 15 * time.Second

// limitServer is a hub with cfg over a fresh SQLite store, served over a
// real listener whose sockets have small send buffers, so that a peer
// that stops reading blocks the server's writes after a few KiB.
type limitServer struct {
	hub     *chat.Hub
	auth    *auth.Auth
	store   *sqlite.Store
	metrics *metrics.Metrics
	srv     *httptest.Server
	// served, when set, is called after each request the API answered.
	served func(*http.Request)
}

func newLimitServer(t *testing.T, cfg chat.Config, served ...func(*http.Request)) *limitServer {
	t.Helper()
	s := &limitServer{metrics: metrics.New()}
	if len(served) > 0 {
		s.served = served[0]
	}
	var err error
	s.auth, err = auth.New(secret, auth.Options{})
	require.NoError(t, err)
	s.hub = chat.NewHub(cfg, nil, s.auth, nil, s.metrics, slog.New(slog.DiscardHandler))
	s.store, err = sqlite.Open(filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler), OnCommit: s.hub.Publish})
	require.NoError(t, err)
	t.Cleanup(func() { s.store.Close() })
	s.hub.SetStore(s.store)
	handler := api.New(api.Config{Hub: s.hub, Auth: s.auth})
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
		if s.served != nil {
			s.served(r)
		}
	}))
	s.srv.Listener = smallBuffers{s.srv.Listener}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// smallBuffers is a listener whose connections have a small send buffer.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// metric reads one sample of the hub's metrics, 0 when absent.
func (s *limitServer) metric(t *testing.T, name string) float64 {
	t.Helper()
	w := httptest.NewRecorder()
	s.metrics.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(w.Body.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	return 0
}

// token signs a customer token of user for rooms.
func (s *limitServer) token(t *testing.T, user string, rooms ...string) string {
	t.Helper()
	tok, err := s.auth.Issue(wire.User{ID: user, Name: user, Role: wire.RoleCustomer}, rooms, time.Hour)
	require.NoError(t, err)
	return tok
}

// dial opens a session of tok, closed when the test ends.
func (s *limitServer) dial(t *testing.T, tok string, opts ...native.Option) (*native.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limitTimeout)
	defer cancel()
	c, err := native.Dial(ctx, s.srv.URL, tok, opts...)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// fill stores n messages of size bytes each in room.
func (s *limitServer) fill(t *testing.T, room string, n, size int) {
	t.Helper()
	for i := range n {
		_, _, err := s.store.Append(t.Context(), store.NewMessage{
			Room: room, ID: fmt.Sprintf("%s-%d", room, i), ClientID: fmt.Sprintf("c%d", i),
			Body: strings.Repeat("x", size), SentAt: time.Now().UnixMilli(),
			Sender: wire.User{ID: "casey", Name: "Casey", Role: wire.RoleCustomer},
		})
		require.NoError(t, err)
	}
}

func limitContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), limitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestSubscribesPastTheSocketsBudgetAreRefusedWithoutAReplay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		resume int // rooms resumed by hello
		frames int // subscribe frames after it
	}{
		{"a fourth subscribe frame is refused", 0, 4},
		{"a hello resuming four rooms gets the fourth refused", 4, 0},
		{"a subscribe after a hello that spent the budget is refused", 3, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLimitServer(t, chat.Config{Limits: chat.Limits{SubscribeBurst: 3, SubscribeRate: 0.01}})
			rooms := []string{"room-a", "room-b", "room-c", "room-d"}
			for _, room := range rooms {
				s.fill(t, room, 5, 10)
			}
			resume := map[string]int64{}
			for _, room := range rooms[:tt.resume] {
				resume[room] = 0
			}
			c, err := s.dial(t, s.token(t, "casey", rooms...), native.WithResume(resume))
			require.NoError(t, err)
			ctx := limitContext(t)

			answered := 0
			var refused *native.FrameError
			for i := range tt.resume + tt.frames {
				room := rooms[i%len(rooms)]
				var sub *wire.Subscribed
				if i < tt.resume {
					f, err := c.NextMatch(ctx, func(f wire.Frame) bool {
						switch f := f.(type) {
						case *wire.Subscribed:
							return f.Room == room
						case *wire.ErrorFrame:
							return f.Ref == room
						}
						return false
					})
					require.NoError(t, err)
					if e, ok := f.(*wire.ErrorFrame); ok {
						refused = &native.FrameError{Code: e.Code, Ref: e.Ref, RetryAfter: time.Duration(e.RetryAfterMS) * time.Millisecond}
						continue
					}
					sub = f.(*wire.Subscribed)
				} else {
					sub, err = c.SubscribeAndWait(ctx, room, 0)
					if err != nil {
						require.ErrorAs(t, err, &refused)
						continue
					}
				}
				answered++
				msgs, err := c.NextMessages(ctx, sub.Room, 5)
				require.NoError(t, err)
				assert.Len(t, msgs, 5, "the replay of %s", sub.Room)
			}
			assert.Equal(t, 3, answered, "the burst is answered")
			require.NotNil(t, refused, "the subscribe past the burst is refused")
			assert.Equal(t, wire.CodeRateLimited, refused.Code)
			assert.Equal(t, rooms[3], refused.Ref)
			assert.Positive(t, refused.RetryAfter, "retry_after_ms says when to come back")
			// No replay follows the refusal: the next frame is the pong.
			_, err = c.PingPong(ctx, 1)
			require.NoError(t, err)
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			f, err := c.Next(short)
			require.ErrorIs(t, err, context.DeadlineExceeded, "unexpected frame %#v", f)
		})
	}
}

func TestAnInboxResumingFiftyRoomsIsNotLimitedByDefault(t *testing.T) {
	t.Parallel()
	s := newLimitServer(t, chat.Config{})
	resume := map[string]int64{}
	rooms := make([]string, 50)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("room-%02d", i)
		resume[rooms[i]] = 0
	}
	c, err := s.dial(t, s.token(t, "taylor", rooms...), native.WithResume(resume))
	require.NoError(t, err)
	ctx := limitContext(t)
	for range rooms {
		f, err := c.Next(ctx)
		require.NoError(t, err)
		require.IsType(t, &wire.Subscribed{}, f)
	}
	// And it subscribes them all again at once, as a page that resubscribes.
	for _, room := range rooms {
		_, err := c.SubscribeAndWait(ctx, room, 0)
		require.NoError(t, err)
	}
}

func TestSocketsPastTheCapsAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		// the third socket's user: the same as the first two, or another
		thirdUser string
		limits    chat.Limits
		check     func(t *testing.T, err error)
	}{
		{
			"a user's third socket is closed with 4429 and a retry window",
			"casey", chat.Limits{MaxUserSockets: 2, RefuseRetryAfter: 7 * time.Second},
			func(t *testing.T, err error) {
				require.Equal(t, wire.CloseRateLimited, native.CloseStatus(err), "err: %v", err)
				var ce *native.CloseError
				require.ErrorAs(t, err, &ce)
				d, err := ce.RetryAfter()
				require.NoError(t, err)
				assert.Equal(t, 7*time.Second, d)
			},
		},
		{
			"an upgrade past the server's cap answers 503 with Retry-After",
			"taylor", chat.Limits{MaxSockets: 2, RefuseRetryAfter: 7 * time.Second},
			func(t *testing.T, err error) {
				var he *conn.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, http.StatusServiceUnavailable, he.Status)
				assert.Equal(t, 7*time.Second, he.RetryAfter)
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLimitServer(t, chat.Config{Limits: tt.limits})
			first, err := s.dial(t, s.token(t, "casey", "room-a"))
			require.NoError(t, err)
			_, err = s.dial(t, s.token(t, "casey", "room-a"))
			require.NoError(t, err)

			_, err = s.dial(t, s.token(t, tt.thirdUser, "room-a"))
			tt.check(t, err)

			// A place frees when a socket closes.
			require.NoError(t, first.Close())
			require.Eventually(t, func() bool { return s.hub.Sockets() == 1 }, limitTimeout, 10*time.Millisecond)
			_, err = s.dial(t, s.token(t, tt.thirdUser, "room-a"))
			require.NoError(t, err)
		})
	}
}

func TestLongPollsPastTheCapsAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		thirdUser string
		limits    chat.Limits
		status    int
		code      string
	}{
		{"a user's third long-poll is refused with 429", "casey",
			chat.Limits{MaxUserLongPolls: 2, RefuseRetryAfter: 7 * time.Second}, http.StatusTooManyRequests, wire.CodeRateLimited},
		{"a long-poll past the server's cap is refused with 503", "taylor",
			chat.Limits{MaxLongPolls: 2, RefuseRetryAfter: 7 * time.Second}, http.StatusServiceUnavailable, wire.CodeUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLimitServer(t, chat.Config{Limits: tt.limits})
			casey := &native.HTTPClient{BaseURL: s.srv.URL, Token: s.token(t, "casey", "room-a")}
			ctx, cancel := context.WithCancel(limitContext(t))
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() { casey.Messages(ctx, "room-a", 0, 30*time.Second) })
			}
			require.Eventually(t, func() bool { return s.metric(t, "tether_longpolls_waiting") == 2 }, limitTimeout, 10*time.Millisecond)

			third := &native.HTTPClient{BaseURL: s.srv.URL, Token: s.token(t, tt.thirdUser, "room-a")}
			_, err := third.Messages(limitContext(t), "room-a", 0, 30*time.Second)
			var he *conn.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tt.status, he.Status)
			assert.Equal(t, tt.code, he.Code)
			assert.Equal(t, 7*time.Second, he.RetryAfter)

			// A place frees when a poll ends.
			cancel()
			wg.Wait()
			require.Eventually(t, func() bool { return s.metric(t, "tether_longpolls_waiting") == 0 }, limitTimeout, 10*time.Millisecond)
			s.fill(t, "room-a", 1, 10)
			page, err := third.Messages(limitContext(t), "room-a", 0, 30*time.Second)
			require.NoError(t, err)
			assert.Len(t, page.Messages, 1)
		})
	}
}

func TestReadsPastTheUsersBudgetAreRefusedWith429(t *testing.T) {
	t.Parallel()
	get := func(path string) func(*testing.T, *limitServer, string) error {
		return func(t *testing.T, s *limitServer, tok string) error {
			_, err := (&native.HTTPClient{BaseURL: s.srv.URL, Token: tok}).Do(limitContext(t), http.MethodGet, path, nil, nil)
			return err
		}
	}
	history := get("/api/rooms/room-a/messages?before=10&limit=5")
	rooms := get("/api/rooms")
	poll := get("/api/rooms/room-a/messages?since=0")
	for _, tt := range []struct {
		name    string
		spend   func(*testing.T, *limitServer, string) error // twice, the burst
		refused func(*testing.T, *limitServer, string) error
		still   func(*testing.T, *limitServer, string) error // a read of the other budget
	}{
		{"history pages past the burst are refused; polls go on", history, history, poll},
		{"room lists share the history budget", history, rooms, poll},
		{"reads with since past their burst are refused; history goes on", poll, poll, history},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLimitServer(t, chat.Config{Limits: chat.Limits{ReadBurst: 2, ReadRate: 0.01, PollBurst: 2, PollRate: 0.01}})
			tok := s.token(t, "casey", "room-a")
			for range 2 {
				require.NoError(t, tt.spend(t, s, tok))
			}
			err := tt.refused(t, s, tok)
			var he *conn.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, http.StatusTooManyRequests, he.Status)
			assert.Equal(t, wire.CodeRateLimited, he.Code)
			assert.Positive(t, he.RetryAfter)
			require.NoError(t, tt.still(t, s, tok), "the other budget is apart")
			require.NoError(t, tt.refused(t, s, s.token(t, "taylor", "room-a")), "another user has a budget of their own")
		})
	}
}

func TestIdleRateLimitersAreForgotten(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		readRate rate.Limit
		want     int // limiters left after the sweeps
	}{
		{"users whose budgets refilled are forgotten", 1000, 1},
		{"users whose budgets are spent are kept", 0.001, 21},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLimitServer(t, chat.Config{Limits: chat.Limits{ReadRate: tt.readRate, ReadBurst: 1, LimiterSweep: time.Millisecond}})
			list := func(user string) {
				h := &native.HTTPClient{BaseURL: s.srv.URL, Token: s.token(t, user, "room-a")}
				// A spent budget answers 429: the limiter exists all the same.
				h.Do(limitContext(t), http.MethodGet, "/api/rooms", nil, nil)
			}
			for i := range 20 {
				list(fmt.Sprintf("user-%d", i))
			}
			// A read sweeps when a millisecond has passed since the last
			// sweep; a budget of 1 at 1000/s has refilled by then.
			for range 3 {
				time.Sleep(2 * time.Millisecond)
				list("probe")
			}
			assert.Equal(t, tt.want, s.hub.Limiters())
		})
	}
}

func TestReplaysPastTheUsersBudgetAreCutShortForTheClientToPage(t *testing.T) {
	t.Parallel()
	// A budget of 8 messages that barely refills: the first subscribe's
	// replay of 5 fits, the second gets the 3 left, the third none.
	s := newLimitServer(t, chat.Config{Limits: chat.Limits{ReplayBurst: 8, ReplayRate: 0.001}})
	rooms := []string{"room-a", "room-b", "room-c"}
	for _, room := range rooms {
		s.fill(t, room, 5, 10)
	}
	c, err := s.dial(t, s.token(t, "casey", rooms...))
	require.NoError(t, err)
	ctx := limitContext(t)
	for i, want := range []struct {
		replayed  int
		recovered bool
	}{{5, true}, {3, false}, {0, false}} {
		sub, err := c.SubscribeAndWait(ctx, rooms[i], 0)
		require.NoError(t, err)
		assert.Equal(t, want.recovered, sub.Recovered, "recovered of %s", rooms[i])
		assert.Equal(t, int64(5), sub.Head, "the head tells the client what to page")
		if want.replayed > 0 {
			msgs, err := c.NextMessages(ctx, rooms[i], want.replayed)
			require.NoError(t, err)
			assert.Equal(t, int64(1), msgs[0].Seq, "the replay starts after since")
		}
	}
	// Another user has a budget of their own.
	other, err := s.dial(t, s.token(t, "taylor", rooms...))
	require.NoError(t, err)
	sub, err := other.SubscribeAndWait(ctx, "room-c", 0)
	require.NoError(t, err)
	assert.True(t, sub.Recovered)
}

// overlapStore records how many replays (After) run at once, per caller's
// room prefix, each held for a moment so that overlaps show.
type overlapStore struct {
	store.Store
	mu       sync.Mutex
	running  map[string]int
	most     map[string]int
	all      int // replays running, all users
	mostAll  int
	holdRead time.Duration
}

func (o *overlapStore) After(ctx context.Context, room string, since int64, limit int) ([]wire.Message, error) {
	user, _, _ := strings.Cut(room, "-")
	o.mu.Lock()
	o.running[user]++
	o.most[user] = max(o.most[user], o.running[user])
	o.all++
	o.mostAll = max(o.mostAll, o.all)
	o.mu.Unlock()
	time.Sleep(o.holdRead)
	defer func() {
		o.mu.Lock()
		o.running[user]--
		o.all--
		o.mu.Unlock()
	}()
	return o.Store.After(ctx, room, since, limit)
}

// A user who subscribes on many sockets at once has their replays read
// one after another, not side by side ahead of everybody else's messages;
// another user's replays do not wait for theirs.
func TestOneUsersReplaysRunOneAtATime(t *testing.T) {
	t.Parallel()
	s := newLimitServer(t, chat.Config{})
	o := &overlapStore{Store: s.store, running: map[string]int{}, most: map[string]int{}, holdRead: 50 * time.Millisecond}
	s.hub.SetStore(o)
	const sockets = 4
	var rooms []string
	for i := range sockets {
		for _, user := range []string{"casey", "taylor"} {
			room := fmt.Sprintf("%s-%d", user, i)
			s.fill(t, room, 3, 10)
			rooms = append(rooms, room)
		}
	}
	ctx := limitContext(t)
	var wg sync.WaitGroup
	for i := range sockets {
		for _, user := range []string{"casey", "taylor"} {
			room := fmt.Sprintf("%s-%d", user, i)
			c, err := s.dial(t, s.token(t, user, rooms...))
			require.NoError(t, err)
			wg.Go(func() {
				sub, err := c.SubscribeAndWait(ctx, room, 0)
				assert.NoError(t, err)
				assert.True(t, sub.Recovered)
				msgs, err := c.NextMessages(ctx, room, 3)
				assert.NoError(t, err)
				assert.Len(t, msgs, 3)
			})
		}
	}
	wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	assert.Equal(t, 1, o.most["casey"], "casey's replays one at a time")
	assert.Equal(t, 1, o.most["taylor"], "taylor's replays one at a time")
	assert.Equal(t, 2, o.mostAll, "casey's and taylor's side by side")
}

// A client that asks again at once after each 429 gets its refusals at
// the pace it was told to keep: each is held before it is answered, so
// asking costs it the wait it skipped. Past MaxHeldRefusals they go at
// once, and a client that leaves frees its place.
func TestRefusalsAreHeldBeforeTheyAreAnswered(t *testing.T) {
	t.Parallel()
	const hold = 400 * time.Millisecond
	s := newLimitServer(t, chat.Config{Limits: chat.Limits{PollBurst: 1, PollRate: 0.01, RefusalHold: hold, MaxHeldRefusals: 1}})
	tok := s.token(t, "casey", "room-a")
	client := &native.HTTPClient{BaseURL: s.srv.URL, Token: tok}
	poll := func(ctx context.Context) error {
		_, err := client.Do(ctx, http.MethodGet, "/api/rooms/room-a/messages?since=0", nil, nil)
		return err
	}
	require.NoError(t, poll(limitContext(t)), "the burst")

	start := time.Now()
	err := poll(limitContext(t))
	var he *conn.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusTooManyRequests, he.Status)
	assert.GreaterOrEqual(t, time.Since(start), hold/2, "held before the answer")

	// One held at a time: while one waits, the next is answered at once,
	// which the first's hold cannot have ended before.
	held := make(chan error, 1)
	go func() { held <- poll(limitContext(t)) }()
	require.Eventually(t, func() bool { return s.metric(t, "tether_refusals_held") == 1 }, limitTimeout, 5*time.Millisecond)
	err = poll(limitContext(t))
	require.ErrorAs(t, err, &he)
	assert.Equal(t, float64(1), s.metric(t, "tether_refusals_held"), "answered while the other was still held")
	require.Error(t, <-held)

	// A client that goes away ends its hold.
	ctx, cancel := context.WithCancel(limitContext(t))
	gone := make(chan error, 1)
	go func() { gone <- poll(ctx) }()
	require.Eventually(t, func() bool { return s.metric(t, "tether_refusals_held") == 1 }, limitTimeout, 5*time.Millisecond)
	cancel()
	<-gone
	require.Eventually(t, func() bool { return s.metric(t, "tether_refusals_held") == 0 }, limitTimeout, 5*time.Millisecond)
}

// A send refused for the rate holds back the socket's later sends until
// it comes again: a message sent right behind it is not stored first
// because a token came in between, so each user's messages keep the order
// they were typed in.
func TestARateLimitedSendHoldsBackTheOnesBehindIt(t *testing.T) {
	t.Parallel()
	const perToken = 300 * time.Millisecond
	s := newLimitServer(t, chat.Config{SendBurst: 1, SendRate: rate.Every(perToken)})
	c, err := s.dial(t, s.token(t, "casey", "room-a"))
	require.NoError(t, err)
	ctx := limitContext(t)
	answer := func(clientID string) wire.Frame {
		t.Helper()
		f, err := c.NextMatch(ctx, func(f wire.Frame) bool {
			switch f := f.(type) {
			case *wire.Ack:
				return f.ClientID == clientID
			case *wire.ErrorFrame:
				return f.Ref == clientID
			}
			return false
		})
		require.NoError(t, err)
		return f
	}
	send := func(clientID string) wire.Frame {
		t.Helper()
		require.NoError(t, c.Send(ctx, "room-a", clientID, clientID))
		return answer(clientID)
	}
	require.IsType(t, &wire.Ack{}, send("one"), "the burst")
	refused := send("two")
	require.IsType(t, &wire.ErrorFrame{}, refused)
	assert.Equal(t, wire.CodeRateLimited, refused.(*wire.ErrorFrame).Code)

	time.Sleep(2 * perToken) // a token is there again
	held := send("three")
	require.IsType(t, &wire.ErrorFrame{}, held, "three waits for two, token or not")
	assert.GreaterOrEqual(t, held.(*wire.ErrorFrame).RetryAfterMS, int64(1000), "never told to ask again at once")

	require.IsType(t, &wire.Ack{}, send("two"), "two comes again and is stored")
	time.Sleep(2 * perToken)
	require.IsType(t, &wire.Ack{}, send("three"))

	msgs, err := s.store.After(ctx, "room-a", 0, 10)
	require.NoError(t, err)
	var order []string
	for _, m := range msgs {
		order = append(order, m.ClientID)
	}
	assert.Equal(t, []string{"one", "two", "three"}, order)
}

// A user's bulk answers go at the pace of the user's bulk budget: past its
// burst a page, or a replay, waits for the budget (the gauge shows it
// waiting) with what the burst covered already sent, while another user's
// page goes at once; a client that leaves ends the wait.
func TestBulkAnswersWaitForTheUsersBulkBudget(t *testing.T) {
	t.Parallel()
	const burst = 40 << 10
	// A budget that refills one byte a second: what the burst does not
	// cover waits for as long as the test lasts.
	s := newLimitServer(t, chat.Config{Limits: chat.Limits{BulkBurst: burst, BulkRate: 1}})
	s.fill(t, "room-a", 100, 1000) // about 110 KB of JSON
	ctx := limitContext(t)

	// A page: the first chunks arrive, then it waits.
	pageCtx, stopPage := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(pageCtx, http.MethodGet, s.srv.URL+"/api/rooms/room-a/messages?before=101&limit=100", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token(t, "casey", "room-a"))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	head := make([]byte, 16<<10)
	_, err = io.ReadFull(res.Body, head)
	require.NoError(t, err, "what the burst covers arrives")
	assert.True(t, bytes.HasPrefix(head, []byte(`{"messages":[{`)), "a page, a chunk at a time")
	require.Eventually(t, func() bool { return s.metric(t, "tether_bulk_waiting") == 1 }, limitTimeout, 5*time.Millisecond)

	// Another user's budget is their own: a page within the burst, at once.
	other := &native.HTTPClient{BaseURL: s.srv.URL, Token: s.token(t, "taylor", "room-a")}
	page, err := other.History(ctx, "room-a", 101, 30)
	require.NoError(t, err)
	assert.Len(t, page.Messages, 30)

	// The waiting page ends with its client.
	stopPage()
	require.Eventually(t, func() bool { return s.metric(t, "tether_bulk_waiting") == 0 }, limitTimeout, 5*time.Millisecond)

	// A replay of the same user waits too: the budget is spent.
	c, err := s.dial(t, s.token(t, "casey", "room-a"))
	require.NoError(t, err)
	sub, err := c.SubscribeAndWait(ctx, "room-a", 0)
	require.NoError(t, err)
	assert.True(t, sub.Recovered)
	require.Eventually(t, func() bool { return s.metric(t, "tether_bulk_waiting") == 1 }, limitTimeout, 5*time.Millisecond)
}

// A page written a chunk at a time is byte for byte the page encoded at
// once.
func TestAPageInChunksIsThePageAtOnce(t *testing.T) {
	t.Parallel()
	s := newLimitServer(t, chat.Config{})
	s.fill(t, "room-a", 120, 900) // several chunks
	tok := s.token(t, "casey", "room-a")
	for _, q := range []string{"before=121&limit=120", "since=0&limit=120", "since=500"} {
		req, err := http.NewRequestWithContext(limitContext(t), http.MethodGet, s.srv.URL+"/api/rooms/room-a/messages?"+q, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, q)
		var page wire.MessagesPage
		require.NoError(t, json.Unmarshal(body, &page), q)
		if page.Messages == nil {
			page.Messages = []wire.Message{}
		}
		want, err := json.Marshal(page)
		require.NoError(t, err)
		assert.Equal(t, string(want)+"\n", string(body), q)
		assert.Equal(t, int64(120), page.Head, q)
	}
}
