package conn_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/wire"
)

var errRefused = errors.New("upgrade refused by a proxy")

func refuseWebSocket(h *harness) { h.srv.RefuseWebSocket(errRefused) }

// polling starts a harness whose WebSocket is refused, settled in polling.
func polling(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := newHarness(t, append([]option{refuseWebSocket}, opts...)...)
	h.advance(h.retryIn())
	require.Equal(t, conn.StatePolling, h.state())
	return h
}

// parallelPolling marks the test parallel and gives it a harness in polling.
func parallelPolling(t *testing.T, opts ...option) *harness {
	t.Helper()
	t.Parallel()
	return polling(t, opts...)
}

func TestPolling(t *testing.T) {
	t.Parallel()

	t.Run("long polls carry messages both ways", func(t *testing.T) {
		h := parallelPolling(t)
		h.subscribe("room-1")
		require.EqualValues(t, 1, h.srv.Blocked(), "a long poll waits")
		h.srv.Publish("room-1", "one")
		h.settle()
		h.srv.Publish("room-1", "two")
		h.settle()
		assert.Equal(t, []int64{1, 2}, h.seqs("room-1"))

		id := h.send("room-1", "hello over HTTP")
		assert.Equal(t, 1, h.srv.Stats().Posts)
		assert.Empty(t, h.svc.Outbox())
		assert.Equal(t, id, h.srv.Messages("room-1")[2].ClientID)
		assert.Equal(t, []int64{1, 2, 3}, h.seqs("room-1"), "our own message comes back once")
	})

	t.Run("an empty long poll is asked again after its wait", func(t *testing.T) {
		h := parallelPolling(t)
		h.subscribe("room-1")
		polls := h.srv.Stats().Polls
		h.advance(25 * time.Second)
		assert.Equal(t, polls+1, h.srv.Stats().Polls)
	})

	t.Run("a server that does not hold polls gets short polls every poll interval", func(t *testing.T) {
		h := parallelPolling(t, func(h *harness) { h.srv.DisableLongPoll(true) })
		h.subscribe("room-1")
		polls := h.srv.Stats().Polls
		h.advance(9 * time.Second)
		assert.Equal(t, polls+3, h.srv.Stats().Polls)
		h.srv.Publish("room-1", "found by a short poll")
		h.advance(3 * time.Second)
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("a failed long poll falls back to short polls", func(t *testing.T) {
		h := parallelPolling(t)
		h.srv.FailHTTP("messages", errors.New("proxy cut the request"))
		h.subscribe("room-1")
		assert.True(t, h.logs.has("ConnectionStability: Long poll failed - polling every 3s"))
		assert.Equal(t, conn.StatePolling, h.state())
		h.srv.Publish("room-1", "still arrives")
		h.advance(3 * time.Second)
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("WebSocket is restored mid-session without losing or repeating a message", func(t *testing.T) {
		h := parallelPolling(t)
		h.subscribe("room-1")
		h.subscribe("room-2")
		for range 3 {
			h.srv.Publish("room-1", "over polling")
			h.settle()
		}
		h.srv.RefuseWebSocket(nil)
		h.srv.Publish("room-1", "while WebSocket comes back")
		h.srv.Publish("room-2", "in another room")
		h.advance(30 * time.Second)
		require.Equal(t, conn.StateConnected, h.state())
		assert.True(t, h.logs.has("✅ ConnectionStability: WebSocket restored, stopping polling"))
		assert.Equal(t, map[string]int64{"room-1": 4, "room-2": 1}, hellos(h.srv)[0].Resume)
		h.eventuallyUnblocked("the long polls were abandoned")

		h.srv.Publish("room-1", "over WebSocket")
		h.settle()
		assert.Equal(t, []int64{1, 2, 3, 4, 5}, h.seqs("room-1"))
		assert.Equal(t, []int64{1}, h.seqs("room-2"))
		assert.Equal(t, conn.TransportWebSocket, h.status().ConnectionType)
	})

	t.Run("online tries WebSocket at once while polling", func(t *testing.T) {
		h := parallelPolling(t)
		h.srv.RefuseWebSocket(nil)
		h.env.Fire(conn.EnvOnline)
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("a failed restore keeps polling and tries again later", func(t *testing.T) {
		h := parallelPolling(t)
		dials := h.srv.Stats().Dials
		h.advance(30 * time.Second)
		assert.Equal(t, dials+1, h.srv.Stats().Dials)
		assert.Equal(t, conn.StatePolling, h.state())
		assert.InDelta(t, float64(30*time.Second), float64(h.retryIn()), float64(time.Second))
	})

	t.Run("polling probes the server for quality while visible", func(t *testing.T) {
		h := parallelPolling(t)
		pings := h.srv.Stats().Pings
		h.advance(10 * time.Second)
		assert.Equal(t, pings+2, h.srv.Stats().Pings)
		assert.Equal(t, conn.QualityExcellent, h.status().Quality)
	})

	t.Run("polling gives up when HTTP fails too", func(t *testing.T) {
		h := parallelPolling(t)
		h.subscribe("room-1")
		h.srv.Unplug()
		h.advance(5 * time.Second) // the probe fails
		assert.Equal(t, conn.StateReconnecting, h.state())
		h.eventuallyUnblocked("the polls ended")
		h.srv.Plug()
		h.srv.RefuseWebSocket(nil)
		h.advance(h.retryIn())
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("three failed polls in a row give polling up", func(t *testing.T) {
		h := parallelPolling(t, func(h *harness) { h.env.SetStart(true, false) })
		h.subscribe("room-1")
		down := errors.New("down")
		h.srv.FailHTTP("messages", down, down, down)
		h.srv.Publish("room-1", "wake the poll")
		h.settle()
		h.advance(6 * time.Second)
		assert.Equal(t, conn.StateReconnecting, h.state())
	})

	t.Run("a poll that hangs is abandoned and counted as failed", func(t *testing.T) {
		h := parallelPolling(t, func(h *harness) { h.env.SetStart(true, false) })
		h.srv.HangHTTP(true)
		h.subscribe("room-1")
		h.advance(40 * time.Second)
		assert.True(t, h.logs.has("ConnectionStability: Long poll failed - polling every 3s"))
	})

	t.Run("a rate-limited poll waits retry-after", func(t *testing.T) {
		h := parallelPolling(t)
		h.srv.FailHTTP("messages", &conn.HTTPError{Status: 429, Code: wire.CodeRateLimited, RetryAfter: 8 * time.Second})
		h.subscribe("room-1")
		polls := h.srv.Stats().Polls
		h.advance(7 * time.Second)
		assert.Equal(t, polls, h.srv.Stats().Polls)
		h.advance(time.Second)
		assert.Equal(t, polls+1, h.srv.Stats().Polls)
	})

	t.Run("a forbidden room fails alone while polling", func(t *testing.T) {
		h := parallelPolling(t, func(h *harness) { h.srv.Forbid("secret") })
		h.subscribe("secret")
		h.subscribe("room-1")
		require.Len(t, h.roomErrors("secret"), 1)
		assert.ErrorIs(t, h.roomErrors("secret")[0], conn.ErrForbidden)
		h.srv.Publish("room-1", "others go on")
		h.settle()
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("a refused token while polling is refreshed once", func(t *testing.T) {
		h := parallelPolling(t, func(h *harness) { h.tokens.QueueRefresh("token-2") })
		h.srv.AcceptTokens("token-2")
		h.subscribe("room-1")
		h.subscribe("room-2")
		h.srv.Publish("room-1", "after the refresh")
		h.settle()
		assert.Equal(t, []int64{1}, h.seqs("room-1"), h.logs.all())
		_, refreshes := h.tokens.Calls()
		assert.Equal(t, 1, refreshes)
		assert.Equal(t, conn.StatePolling, h.state())
	})

	t.Run("posts wait out a rate limit and fail on a permanent refusal", func(t *testing.T) {
		h := parallelPolling(t)
		h.srv.FailHTTP("post",
			&conn.HTTPError{Status: 429, Code: wire.CodeRateLimited, RetryAfter: 5 * time.Second},
			&conn.HTTPError{Status: 409, Code: wire.CodeConflict, Message: "client_id taken"})
		first := h.send("room-1", "first")
		second := h.send("room-1", "second")
		assert.Len(t, h.svc.Outbox(), 2)
		h.advance(5 * time.Second)
		ob := h.svc.Outbox()
		require.Len(t, ob, 1)
		assert.Equal(t, first, ob[0].ClientID)
		assert.True(t, ob[0].Failed)
		assert.Equal(t, "conflict: client_id taken", ob[0].LastError)
		assert.Equal(t, second, h.srv.Messages("room-1")[0].ClientID)
	})

	t.Run("a post that fails on the network is tried again", func(t *testing.T) {
		h := parallelPolling(t)
		h.srv.FailHTTP("post", errors.New("reset"), &conn.HTTPError{Status: 500, Code: wire.CodeInternal})
		h.send("room-1", "persistent")
		h.advance(6 * time.Second)
		assert.Empty(t, h.svc.Outbox())
		assert.Len(t, h.srv.Messages("room-1"), 1)
	})

	t.Run("posts that fail on the network never fail the message", func(t *testing.T) {
		h := parallelPolling(t)
		errs := make([]error, 8)
		for i := range errs {
			errs[i] = errors.New("net::ERR_NETWORK_CHANGED")
		}
		h.srv.FailHTTP("post", errs...)
		h.send("room-1", "through the tunnel")
		h.advance(20 * time.Second)
		ob := h.svc.Outbox()
		require.Len(t, ob, 1, "still waiting after more failed posts than MaxSendAttempts")
		assert.False(t, ob[0].Failed, ob[0].LastError)
		h.advance(10 * time.Second)
		assert.Empty(t, h.svc.Outbox())
		assert.Len(t, h.srv.Messages("room-1"), 1)
	})

	t.Run("a post still out holds back the messages after it when WebSocket comes back", func(t *testing.T) {
		h := parallelPolling(t)
		h.srv.HangHTTP(true)
		first := h.send("room-1", "first")
		second := h.send("room-1", "second")
		h.srv.RefuseWebSocket(nil)
		h.env.Fire(conn.EnvOnline)
		h.settle()
		require.Equal(t, conn.StateConnected, h.state())
		assert.Empty(t, h.srv.Received(wire.TypeSend), "nothing overtakes the post still out")
		// The post is abandoned at the ack timeout; both go on the socket,
		// in the order typed.
		h.advance(10 * time.Second)
		assert.Equal(t, []string{first, second}, storedClientIDs(h.srv, "room-1"))
		assert.Empty(t, h.svc.Outbox())
	})

	t.Run("a post that hangs is abandoned at the ack timeout and sent again", func(t *testing.T) {
		h := parallelPolling(t)
		h.srv.HangHTTP(true)
		h.send("room-1", "slow")
		h.advance(10 * time.Second)
		h.srv.HangHTTP(false)
		h.advance(20 * time.Second)
		assert.Empty(t, h.svc.Outbox())
		assert.Len(t, h.srv.Messages("room-1"), 1)
	})
}

func TestFallback(t *testing.T) {
	t.Parallel()

	t.Run("WebSocket failing twice while ping answers switches to polling at once", func(t *testing.T) {
		h := parallelHarness(t, refuseWebSocket)
		require.Equal(t, conn.StateReconnecting, h.state(), "one failure is not enough")
		h.advance(h.retryIn())
		assert.Equal(t, conn.StatePolling, h.state())
		assert.Equal(t, 2, h.srv.Stats().Dials, "well before MaxReconnectAttempts")
		st := h.status()
		assert.True(t, st.IsConnected)
		assert.Equal(t, conn.TransportPolling, st.ConnectionType)
		assert.Equal(t, 0, st.ReconnectAttempts)
		assert.True(t, h.logs.has("🔄 ConnectionStability: Switching to polling fallback"))
	})

	t.Run("after max attempts a ping that answers switches to polling", func(t *testing.T) {
		t.Parallel()
		down := errors.New("ping lost")
		h := newHarness(t, refuseWebSocket,
			withConfig(func(c *conn.Config) { c.MaxReconnectAttempts = 3 }),
			func(h *harness) { h.srv.FailHTTP("ping", down, down) })
		for h.state() != conn.StatePolling {
			require.Less(t, h.srv.Stats().Dials, 5)
			h.advance(h.retryIn())
		}
		// The first attempt and three retries; a failed ping wipes the
		// failures before it (the server or the network was down, not
		// WebSocket alone), and the suspended service asks again after its
		// next failure.
		assert.Equal(t, 5, h.srv.Stats().Dials)
		assert.Equal(t, 3, h.srv.Stats().Pings)
	})

	t.Run("after max attempts with no answer it suspends and retries at the max delay forever", func(t *testing.T) {
		h := parallelHarness(t, unplugged, withConfig(func(c *conn.Config) { c.MaxReconnectAttempts = 3 }))
		for h.state() != conn.StateSuspended {
			require.Less(t, h.srv.Stats().Dials, 6)
			h.advance(h.retryIn())
		}
		assert.Equal(t, 1, h.logs.count("ConnectionStability: Suspended after"))
		dials := h.srv.Stats().Dials
		for range 20 {
			wait := h.retryIn()
			require.GreaterOrEqual(t, wait, 15*time.Second)
			require.LessOrEqual(t, wait, 30*time.Second)
			h.advance(wait)
			require.Equal(t, conn.StateSuspended, h.state())
		}
		assert.Equal(t, dials+20, h.srv.Stats().Dials, "it never gives up")
		var fourth []string
		for _, line := range h.logs.all() {
			if strings.HasPrefix(line, "🔄 ConnectionStability: Reconnect attempt 4") {
				fourth = append(fourth, line)
			}
		}
		assert.Equal(t, []string{"🔄 ConnectionStability: Reconnect attempt 4 (suspended: every 30s)"}, fourth, "no count out of 3 past the 3")
		h.srv.Plug()
		h.advance(h.retryIn())
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("a suspended service falls back to polling once HTTP answers again", func(t *testing.T) {
		h := parallelHarness(t, unplugged, withConfig(func(c *conn.Config) { c.MaxReconnectAttempts = 2 }))
		for h.state() != conn.StateSuspended {
			h.advance(h.retryIn())
		}
		h.srv.Plug()
		h.srv.RefuseWebSocket(errRefused)
		h.advance(h.retryIn())
		assert.Equal(t, conn.StatePolling, h.state())
	})

	t.Run("with fallback polling disabled it suspends without probing", func(t *testing.T) {
		h := parallelHarness(t, refuseWebSocket, withConfig(func(c *conn.Config) {
			c.DisableFallbackPolling = true
			c.MaxReconnectAttempts = 3
		}))
		for h.state() != conn.StateSuspended {
			require.Less(t, h.srv.Stats().Dials, 6)
			h.advance(h.retryIn())
		}
		assert.Equal(t, 0, h.srv.Stats().Pings)
	})

	t.Run("a dial that hangs ends at the connection timeout", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.HangDial(true) }, withConfig(func(c *conn.Config) { c.DisableFallbackPolling = true }))
		assert.Equal(t, conn.StateConnecting, h.state())
		h.advance(10 * time.Second)
		assert.Equal(t, conn.StateReconnecting, h.state())
		assert.Contains(t, h.status().LastError, "no welcome within 10s")
		h.eventuallyUnblocked("the hanging dial was cancelled")
		h.srv.HangDial(false)
		h.advance(h.retryIn())
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("a probe that hangs counts as failed after the connection timeout", func(t *testing.T) {
		h := parallelHarness(t, refuseWebSocket, func(h *harness) { h.srv.HangHTTP(true) },
			withConfig(func(c *conn.Config) { c.MaxReconnectAttempts = 2 }))
		h.advance(h.retryIn()) // second failure: the probe hangs
		require.EqualValues(t, 1, h.srv.Blocked())
		h.advance(10 * time.Second)
		h.eventuallyUnblocked("the hanging probe was cancelled")
		assert.NotEqual(t, conn.StatePolling, h.state())
	})

	t.Run("a silent outage is no blocked WebSocket: back on WebSocket within 5 s of the link", func(t *testing.T) {
		h := parallelHarness(t)
		require.Equal(t, conn.StateConnected, h.state())
		silent := func(on bool) {
			// Nothing gets through either way, and nothing is refused: a
			// dead Wi-Fi, a tunnel. What was left waiting stays waiting.
			h.srv.MutePongs(on)
			h.srv.HangDial(on)
			h.srv.HangHTTP(on)
		}
		silent(true)
		h.advance(45 * time.Second)
		require.NotEqual(t, conn.StateConnected, h.state(), "the silence was noticed")
		silent(false)
		took := h.until(10*time.Second, func() bool { return h.state() == conn.StateConnected })
		assert.LessOrEqual(t, took, 5*time.Second, "back within 5 s of the link")
		assert.NotContains(t, h.states(), conn.StatePolling, "WebSocket was never the problem")
		assert.Equal(t, conn.TransportWebSocket, h.status().ConnectionType)
	})

	t.Run("dials refused while the server restarts after draining are no blocked WebSocket", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Break(wire.CloseDraining, `{"retry_after_ms":1000}`)
		h.srv.RefuseWebSocket(errRefused) // the new process is not listening yet
		h.settle()
		for range 3 {
			h.advance(h.retryIn())
		}
		assert.NotContains(t, h.states(), conn.StatePolling, "HTTP answering as the server comes back proves nothing")
		h.srv.RefuseWebSocket(nil)
		h.advance(h.retryIn())
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("a socket that closes before its welcome counts as a WebSocket failure", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.Latency(time.Second) }) // each welcome is a second away
		h.srv.Break(wire.CloseServerError, "")
		h.settle()
		require.Equal(t, conn.StateReconnecting, h.state())
		h.advance(h.retryIn())
		h.srv.Break(wire.CloseServerError, "")
		h.settle()
		assert.Equal(t, conn.StatePolling, h.state(), "two failures in a row and ping answers")
	})
}
