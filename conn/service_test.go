package conn_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/wire"
)

func TestClose(t *testing.T) {
	t.Parallel()

	t.Run("close stops every timer, socket, watcher and goroutine", func(t *testing.T) {
		h := parallelPolling(t)
		h.subscribe("room-1") // a long poll waits
		h.srv.RefuseWebSocket(nil)
		h.srv.HangDial(true)
		h.env.Fire(conn.EnvOnline) // a dial hangs too
		h.settle()
		require.EqualValues(t, 2, h.srv.Blocked())
		h.svc.Close()
		h.svc.Close() // twice is fine
		assert.Zero(t, h.srv.Blocked())
		assert.Zero(t, h.clock.Pending())
		assert.Zero(t, h.env.Watchers())
		assert.Empty(t, h.srv.Sockets())
		assert.Equal(t, conn.StateClosed, h.state())
		assert.True(t, h.logs.has("ConnectionStability: Closed"))
	})

	t.Run("close closes the open socket", func(t *testing.T) {
		h := parallelHarness(t)
		h.svc.Close()
		assert.Empty(t, h.srv.Sockets())
	})

	t.Run("the api after close refuses politely", func(t *testing.T) {
		h := parallelHarness(t)
		h.svc.Close()
		_, err := h.svc.Send("room-1", "too late")
		assert.ErrorIs(t, err, conn.ErrClosed)
		var got error
		h.svc.SubscribeToMessages("room-1", func(wire.Message) {}, func(err error) { got = err })
		assert.ErrorIs(t, got, conn.ErrClosed)
		h.svc.ForceReconnect()
		h.svc.Retry("x")
		stop := h.svc.Watch(func(conn.Status) { t.Error("no call after close") })
		stop()
		stopOutbox := h.svc.WatchOutbox(func([]conn.OutboxEntry) { t.Error("no call after close") })
		stopOutbox()
		assert.Equal(t, conn.StateClosed, h.state())
	})

	t.Run("a stopped watcher hears nothing more", func(t *testing.T) {
		h := parallelHarness(t)
		calls := 0
		stop := h.svc.Watch(func(conn.Status) { calls++ })
		h.settle()
		assert.Equal(t, 1, calls, "called once with the current status")
		stop()
		h.srv.Break(wire.CloseAbnormal, "")
		h.settle()
		assert.Equal(t, 1, calls)
		stopOutbox := h.svc.WatchOutbox(func([]conn.OutboxEntry) { calls++ })
		stopOutbox()
		h.send("room-1", "x")
		assert.LessOrEqual(t, calls, 2)
	})

	t.Run("status moves from connecting through reconnecting back to connected", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Break(wire.CloseAbnormal, "")
		h.settle()
		h.advance(h.retryIn())
		// The harness watches once the service runs: on a busy machine the
		// first dial may be answered before, and "connecting" is then not
		// seen; everything from the first "connected" is.
		states := h.states()
		if len(states) > 0 && states[0] == conn.StateConnecting {
			states = states[1:]
		}
		assert.Equal(t, []conn.State{conn.StateConnected, conn.StateReconnecting, conn.StateConnected}, states, "all: %v", h.states())
	})

	t.Run("a storage that fails is logged and the service goes on", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.store.Fail(errors.New("quota"), errors.New("quota")) })
		h.send("room-1", "still sent")
		assert.Equal(t, conn.StateConnected, h.state())
		assert.Len(t, h.srv.Messages("room-1"), 1)
		assert.Greater(t, h.store.Saves(), 0)
	})

	t.Run("a snapshot with junk keeps only what is valid", func(t *testing.T) {
		h := parallelHarness(t, unplugged, func(h *harness) {
			h.store.Put(conn.Snapshot{
				Outbox: []conn.OutboxEntry{
					{ClientID: "ok-1", Room: "room-1", Body: "kept"},
					{ClientID: "ok-1", Room: "room-1", Body: "duplicate"},
					{ClientID: "bad id!", Room: "room-1", Body: "dropped"},
					{ClientID: "ok-2", Room: "bad room", Body: "dropped"},
					{ClientID: "ok-3", Room: "room-1", Body: "failed before", Failed: true},
				},
				LastSeq: map[string]int64{"room-1": 4, "bad room": 3, "room-2": -1},
			})
		})
		ob := h.svc.Outbox()
		require.Len(t, ob, 2)
		assert.Equal(t, "ok-1", ob[0].ClientID)
		assert.True(t, ob[1].Failed)
		h.srv.Plug()
		h.subscribe("room-1")
		h.advance(h.retryIn())
		assert.Equal(t, map[string]int64{"room-1": 4}, hellos(h.srv)[0].Resume)
		assert.Len(t, h.svc.Outbox(), 1, "the failed one waits for Retry")
	})

	t.Run("new refuses missing ports", func(t *testing.T) {
		t.Parallel()
		assert.Panics(t, func() { conn.New(conn.Config{}, conn.Ports{}) })
	})

	t.Run("the optional ports may be nil", func(t *testing.T) {
		t.Parallel()
		clock := conntest.NewClock(time.Time{})
		srv := conntest.NewServer(clock)
		svc := conn.New(conn.Config{}, conn.Ports{Clock: clock, Dialer: srv.Dialer(), HTTP: srv.HTTP(), Tokens: conntest.NewTokens("t")})
		defer svc.Close()
		require.Eventually(t, func() bool { return svc.Status().State == conn.StateConnected }, 5*time.Second, time.Millisecond)
		_, err := svc.Send("room-1", "no storage")
		require.NoError(t, err)
		require.Eventually(t, func() bool { return len(svc.Outbox()) == 0 }, 5*time.Second, time.Millisecond)
	})

	t.Run("a frame that does not decode is logged and counts as life", func(t *testing.T) {
		h := parallelHarness(t)
		h.socket().InjectRaw([]byte(`{"type":"nonsense"}`))
		h.settle()
		assert.True(t, h.logs.has("ConnectionStability: Ignoring a frame that did not decode"))
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("server errors that name nothing of ours are logged", func(t *testing.T) {
		h := parallelHarness(t)
		h.socket().Inject(&wire.ErrorFrame{Code: wire.CodeBadFrame, Message: "what"})
		h.socket().Inject(&wire.ErrorFrame{Code: wire.CodeHelloRequired, Message: "hello first"})
		h.settle()
		assert.True(t, h.logs.has("ConnectionStability: Server refused a frame"))
		assert.True(t, h.logs.has("ConnectionStability: Server error"))
	})
}

func TestLogging(t *testing.T) {
	h := parallelHarness(t, func(h *harness) { h.srv.Latency(156 * ms) })
	h.advance(156 * ms)
	h.srv.Latency(0)
	h.srv.MutePongs(true)
	h.until(25*time.Second, func() bool { return h.state() != conn.StateConnected })
	h.srv.MutePongs(false)
	h.srv.RefuseWebSocket(errRefused)
	h.until(10*time.Second, func() bool { return h.state() == conn.StatePolling })
	h.srv.RefuseWebSocket(nil)
	h.advance(30 * time.Second)
	require.Equal(t, conn.StateConnected, h.state())

	for _, line := range []string{
		"🔌 ConnectionStability: Initializing...",
		"✅ ConnectionStability: WebSocket connected (156ms)",
		"⚠️ ConnectionStability: Heartbeat timeout detected",
		"💔 ConnectionStability: Heartbeat failed - starting reconnection",
		"🔄 ConnectionStability: Reconnect attempt 1/10",
		"🔄 ConnectionStability: Switching to polling fallback",
		"✅ ConnectionStability: WebSocket restored, stopping polling",
	} {
		assert.True(t, h.logs.has(line), "missing %q in %q", line, h.logs.all())
	}
}
