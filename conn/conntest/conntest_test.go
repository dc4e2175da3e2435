package conntest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/wire"
)

func TestMain(m *testing.M) {
	conntest.VerifyNoLeaks(m)
}

func TestClock(t *testing.T) {
	t.Parallel()

	t.Run("advance fires timers in time order, each at its own time", func(t *testing.T) {
		t.Parallel()
		c := conntest.NewClock(time.Time{})
		start := c.Now()
		var fired []time.Duration
		c.AfterFunc(2*time.Second, func() { fired = append(fired, c.Now().Sub(start)) })
		c.AfterFunc(time.Second, func() {
			fired = append(fired, c.Now().Sub(start))
			c.AfterFunc(500*time.Millisecond, func() { fired = append(fired, c.Now().Sub(start)) })
		})
		c.Advance(3 * time.Second)
		assert.Equal(t, []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second}, fired)
		assert.Equal(t, 3*time.Second, c.Now().Sub(start))
	})

	t.Run("a stopped timer never fires", func(t *testing.T) {
		t.Parallel()
		c := conntest.NewClock(time.Time{})
		tm := c.AfterFunc(time.Second, func() { t.Error("fired") })
		assert.True(t, tm.Stop())
		assert.False(t, tm.Stop())
		c.Advance(time.Minute)
		assert.Zero(t, c.Pending())
	})

	t.Run("jump fires what fell due with the clock already at the end", func(t *testing.T) {
		t.Parallel()
		c := conntest.NewClock(time.Time{})
		start := c.Now()
		var seen time.Duration
		c.AfterFunc(5*time.Second, func() { seen = c.Now().Sub(start) })
		next, ok := c.Next()
		require.True(t, ok)
		assert.Equal(t, start.Add(5*time.Second), next)
		c.Jump(10 * time.Minute)
		assert.Equal(t, 10*time.Minute, seen)
		_, ok = c.Next()
		assert.False(t, ok)
	})
}

func TestServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	dial := func(t *testing.T, srv *conntest.Server) (conn.Socket, *[]wire.Frame, *wire.CloseCode) {
		t.Helper()
		var frames []wire.Frame
		var closed wire.CloseCode
		sock, err := srv.Dialer().Dial(ctx, conn.SocketEvents{
			OnFrame: func(b []byte) {
				f, err := wire.Decode(b)
				require.NoError(t, err)
				frames = append(frames, f)
			},
			OnClose: func(code wire.CloseCode, _ string) { closed = code },
		})
		require.NoError(t, err)
		return sock, &frames, &closed
	}
	send := func(t *testing.T, sock conn.Socket, f wire.Frame) {
		t.Helper()
		b, err := wire.Encode(f)
		require.NoError(t, err)
		require.NoError(t, sock.Send(b))
	}

	t.Run("a resume replays at most the replay limit and says so", func(t *testing.T) {
		t.Parallel()
		srv := conntest.NewServer(conntest.NewClock(time.Time{}))
		srv.Seed("room-1", wire.ReplayLimit+10)
		sock, frames, _ := dial(t, srv)
		send(t, sock, &wire.Hello{Token: "t", Resume: map[string]int64{"room-1": 0}})
		require.Len(t, *frames, 2+wire.ReplayLimit)
		assert.Equal(t, &wire.Subscribed{Room: "room-1", Head: wire.ReplayLimit + 10, Recovered: false}, (*frames)[1])
	})

	t.Run("a repeated client id is stored once and acked the same", func(t *testing.T) {
		t.Parallel()
		srv := conntest.NewServer(conntest.NewClock(time.Time{}))
		sock, frames, _ := dial(t, srv)
		send(t, sock, &wire.Hello{Token: "t"})
		send(t, sock, &wire.Send{Room: "room-1", ClientID: "c-1", Body: "x"})
		send(t, sock, &wire.Send{Room: "room-1", ClientID: "c-1", Body: "x"})
		posted, err := srv.HTTP().Post(ctx, "t", "room-1", "c-1", "x")
		require.NoError(t, err)
		assert.EqualValues(t, 1, posted.Seq)
		assert.Len(t, srv.Messages("room-1"), 1)
		assert.Equal(t, (*frames)[1], (*frames)[2])
	})

	t.Run("history pages backwards before a seq, the newest first", func(t *testing.T) {
		t.Parallel()
		srv := conntest.NewServer(conntest.NewClock(time.Time{}))
		srv.Seed("room-1", 7)
		seqs := func(page wire.MessagesPage) []int64 {
			var out []int64
			for _, m := range page.Messages {
				out = append(out, m.Seq)
			}
			return out
		}
		page, err := srv.HTTP().History(ctx, "t", "room-1", 0, 3)
		require.NoError(t, err)
		assert.Equal(t, []int64{5, 6, 7}, seqs(page))
		assert.EqualValues(t, 7, page.Head)
		page, err = srv.HTTP().History(ctx, "t", "room-1", 5, 3)
		require.NoError(t, err)
		assert.Equal(t, []int64{2, 3, 4}, seqs(page))
		page, err = srv.HTTP().History(ctx, "t", "room-1", 2, 3)
		require.NoError(t, err)
		assert.Equal(t, []int64{1}, seqs(page))
		page, err = srv.HTTP().History(ctx, "t", "room-1", 1, 3)
		require.NoError(t, err)
		assert.Empty(t, page.Messages)
		assert.NotNil(t, page.Messages, "an empty page is [] as the server sends it")
		assert.Equal(t, 4, srv.Stats().Histories)
	})

	t.Run("a bad token closes with 4401 and gets 401 over HTTP", func(t *testing.T) {
		t.Parallel()
		srv := conntest.NewServer(conntest.NewClock(time.Time{}))
		srv.AcceptTokens("good")
		sock, _, closed := dial(t, srv)
		send(t, sock, &wire.Hello{Token: "bad"})
		assert.Equal(t, wire.CloseUnauthorized, *closed)
		_, err := srv.HTTP().Messages(ctx, "bad", "room-1", 0, 0, 10)
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 401, he.Status)
	})

	t.Run("a long poll waits for a message or for its wait on the clock", func(t *testing.T) {
		t.Parallel()
		clock := conntest.NewClock(time.Time{})
		srv := conntest.NewServer(clock)
		done := make(chan wire.MessagesPage)
		go func() {
			page, _ := srv.HTTP().Messages(ctx, "t", "room-1", 0, 20*time.Second, 10)
			done <- page
		}()
		require.Eventually(t, func() bool { return srv.Blocked() == 1 }, time.Second, time.Millisecond)
		srv.Publish("room-1", "wake up")
		assert.Len(t, (<-done).Messages, 1)

		go func() {
			page, _ := srv.HTTP().Messages(ctx, "t", "room-1", 1, 20*time.Second, 10)
			done <- page
		}()
		require.Eventually(t, func() bool { return srv.Blocked() == 1 }, time.Second, time.Millisecond)
		clock.Advance(20 * time.Second)
		assert.Empty(t, (<-done).Messages)
	})

	t.Run("unplugged fails dials and HTTP, and silences open sockets", func(t *testing.T) {
		t.Parallel()
		srv := conntest.NewServer(conntest.NewClock(time.Time{}))
		sock, frames, closed := dial(t, srv)
		srv.Unplug()
		send(t, sock, &wire.Hello{Token: "t"})
		assert.Empty(t, *frames)
		assert.Zero(t, *closed)
		_, err := srv.Dialer().Dial(ctx, conn.SocketEvents{})
		assert.ErrorIs(t, err, conntest.ErrUnreachable)
		assert.ErrorIs(t, srv.HTTP().Ping(ctx), conntest.ErrUnreachable)
	})
}

func TestTokensStorageAndEnv(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	tokens := conntest.NewTokens("a", "b")
	tok, err := tokens.Refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, "b", tok)
	_, err = tokens.Refresh(ctx)
	assert.ErrorIs(t, err, conntest.ErrNoToken)
	tok, _ = tokens.Token(ctx)
	assert.Equal(t, "b", tok)

	store := conntest.NewStorage()
	snap := conn.Snapshot{Outbox: []conn.OutboxEntry{{ClientID: "c-1", Room: "r", Body: "x"}}, LastSeq: map[string]int64{"r": 3}}
	require.NoError(t, store.Save(snap))
	got, err := store.Load()
	require.NoError(t, err)
	assert.Equal(t, snap, got)
	store.Fail(errors.New("no"), nil)
	_, err = store.Load()
	assert.Error(t, err)

	env := conntest.NewEnv()
	var seen []conn.EnvEvent
	stop := env.Watch(func(ev conn.EnvEvent) { seen = append(seen, ev) })
	env.Fire(conn.EnvOffline)
	env.Fire(conn.EnvHidden)
	assert.False(t, env.Online())
	assert.False(t, env.Visible())
	stop()
	env.Fire(conn.EnvOnline)
	assert.Equal(t, []conn.EnvEvent{conn.EnvOffline, conn.EnvHidden}, seen)
	assert.Zero(t, env.Watchers())
}

func TestStatusSource(t *testing.T) {
	t.Parallel()
	src := conntest.NewStatusSource(conn.InitialStatus(), conn.OutboxEntry{ClientID: "c-1"})
	var states []conn.State
	var outboxes [][]conn.OutboxEntry
	stop := src.Watch(func(s conn.Status) { states = append(states, s.State) })
	stopOutbox := src.WatchOutbox(func(ob []conn.OutboxEntry) { outboxes = append(outboxes, ob) })
	assert.Equal(t, conn.StateConnecting, src.Status().State)
	assert.Len(t, src.Outbox(), 1)

	src.SetStatus(conn.Status{State: conn.StateConnected})
	src.SetOutbox()
	src.ForceReconnect()
	assert.Equal(t, []conn.State{conn.StateConnected}, states)
	assert.Equal(t, [][]conn.OutboxEntry{nil}, outboxes)
	assert.Equal(t, 1, src.ForcedReconnects())

	assert.Equal(t, 1, src.Watchers())
	assert.Equal(t, 1, src.OutboxWatchers())
	stop()
	stopOutbox()
	assert.Zero(t, src.Watchers())
	assert.Zero(t, src.OutboxWatchers())
	src.SetStatus(conn.Status{State: conn.StateOffline})
	assert.Len(t, states, 1, "a stopped watcher hears nothing")
}

func TestSettleAndAdvance(t *testing.T) {
	t.Parallel()
	clock := conntest.NewClock(time.Time{})
	srv := conntest.NewServer(clock)
	svc := conn.New(conn.Config{}, conn.Ports{
		Clock: clock, Dialer: srv.Dialer(), HTTP: srv.HTTP(), Tokens: conntest.NewTokens("token-1"),
		Env: conntest.NewEnv(), Storage: conntest.NewStorage(), Rand: func() float64 { return 0.5 },
	})
	defer svc.Close()
	var storeChecks int
	quiet := func() bool { storeChecks++; return true }

	require.NoError(t, conntest.Settle(svc, srv, clock, quiet))
	assert.Equal(t, conn.StateConnected, svc.Status().State, "settled: connected without the clock moving")
	assert.Positive(t, storeChecks, "quiet is asked too")

	start := clock.Now()
	pings := len(srv.Received(wire.TypePing))
	require.NoError(t, conntest.Advance(svc, srv, clock, time.Minute))
	assert.Equal(t, time.Minute, clock.Now().Sub(start))
	assert.Greater(t, len(srv.Received(wire.TypePing)), pings, "the heartbeat's timers fired on the way")
	assert.Equal(t, conn.StateConnected, svc.Status().State)
}
