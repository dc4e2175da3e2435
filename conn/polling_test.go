package conn_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/wire"
)

// polling starts a harness whose WebSocket is refused, settled in polling.
func polling(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := newHarness(t, append([]option{refuseWebSocket}, opts...)...)
	h.advance(h.retryIn())
	require.Equal(t, conn.StatePolling, h.state())
	return h
}

func TestPolling(t *testing.T) {
	t.Parallel()

	t.Run("long polls carry messages both ways", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
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
		t.Parallel()
		h := polling(t)
		h.subscribe("room-1")
		polls := h.srv.Stats().Polls
		h.advance(25 * time.Second)
		assert.Equal(t, polls+1, h.srv.Stats().Polls)
	})

	t.Run("a server that does not hold polls gets short polls every poll interval", func(t *testing.T) {
		t.Parallel()
		h := polling(t, func(h *harness) { h.srv.DisableLongPoll(true) })
		h.subscribe("room-1")
		polls := h.srv.Stats().Polls
		h.advance(9 * time.Second)
		assert.Equal(t, polls+3, h.srv.Stats().Polls)
		h.srv.Publish("room-1", "found by a short poll")
		h.advance(3 * time.Second)
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("a failed long poll falls back to short polls", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
		h.srv.FailHTTP("messages", errors.New("proxy cut the request"))
		h.subscribe("room-1")
		assert.True(t, h.logs.has("ConnectionStability: Long poll failed - polling every 3s"))
		assert.Equal(t, conn.StatePolling, h.state())
		h.srv.Publish("room-1", "still arrives")
		h.advance(3 * time.Second)
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("WebSocket is restored mid-session without losing or repeating a message", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
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
		assert.Equal(t, seqRange(1, 5), h.seqs("room-1"))
		assert.Equal(t, []int64{1}, h.seqs("room-2"))
		assert.Equal(t, conn.TransportWebSocket, h.status().ConnectionType)
	})

	t.Run("online tries WebSocket at once while polling", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
		h.srv.RefuseWebSocket(nil)
		h.env.Fire(conn.EnvOnline)
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("a failed restore keeps polling and tries again later", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
		dials := h.srv.Stats().Dials
		h.advance(30 * time.Second)
		assert.Equal(t, dials+1, h.srv.Stats().Dials)
		assert.Equal(t, conn.StatePolling, h.state())
		assert.InDelta(t, float64(30*time.Second), float64(h.retryIn()), float64(time.Second))
	})

	t.Run("polling probes the server for quality while visible", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
		pings := h.srv.Stats().Pings
		h.advance(10 * time.Second)
		assert.Equal(t, pings+2, h.srv.Stats().Pings)
		assert.Equal(t, conn.QualityExcellent, h.status().Quality)
	})

	t.Run("polling gives up when HTTP fails too", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
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
		t.Parallel()
		h := polling(t, func(h *harness) { h.env.SetStart(true, false) })
		h.subscribe("room-1")
		down := errors.New("down")
		h.srv.FailHTTP("messages", down, down, down)
		h.srv.Publish("room-1", "wake the poll")
		h.settle()
		h.advance(6 * time.Second)
		assert.Equal(t, conn.StateReconnecting, h.state())
	})

	t.Run("a poll that hangs is abandoned and counted as failed", func(t *testing.T) {
		t.Parallel()
		h := polling(t, func(h *harness) { h.env.SetStart(true, false) })
		h.srv.HangHTTP(true)
		h.subscribe("room-1")
		h.advance(40 * time.Second)
		assert.True(t, h.logs.has("ConnectionStability: Long poll failed - polling every 3s"))
	})

	t.Run("a rate-limited poll waits retry-after", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
		h.srv.FailHTTP("messages", &conn.HTTPError{Status: 429, Code: wire.CodeRateLimited, RetryAfter: 8 * time.Second})
		h.subscribe("room-1")
		polls := h.srv.Stats().Polls
		h.advance(7 * time.Second)
		assert.Equal(t, polls, h.srv.Stats().Polls)
		h.advance(time.Second)
		assert.Equal(t, polls+1, h.srv.Stats().Polls)
	})

	t.Run("a forbidden room fails alone while polling", func(t *testing.T) {
		t.Parallel()
		h := polling(t, func(h *harness) { h.srv.Forbid("secret") })
		h.subscribe("secret")
		h.subscribe("room-1")
		require.Len(t, h.roomErrors("secret"), 1)
		assert.ErrorIs(t, h.roomErrors("secret")[0], conn.ErrForbidden)
		h.srv.Publish("room-1", "others go on")
		h.settle()
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("a refused token while polling is refreshed once", func(t *testing.T) {
		t.Parallel()
		h := polling(t, func(h *harness) { h.tokens.QueueRefresh("token-2") })
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
		t.Parallel()
		h := polling(t)
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
		t.Parallel()
		h := polling(t)
		h.srv.FailHTTP("post", errors.New("reset"), &conn.HTTPError{Status: 500, Code: wire.CodeInternal})
		h.send("room-1", "persistent")
		h.advance(6 * time.Second)
		assert.Empty(t, h.svc.Outbox())
		assert.Len(t, h.srv.Messages("room-1"), 1)
	})

	t.Run("posts that fail on the network never fail the message", func(t *testing.T) {
		t.Parallel()
		h := polling(t)
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
		t.Parallel()
		h := polling(t)
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
		t.Parallel()
		h := polling(t)
		h.srv.HangHTTP(true)
		h.send("room-1", "slow")
		h.advance(10 * time.Second)
		h.srv.HangHTTP(false)
		h.advance(20 * time.Second)
		assert.Empty(t, h.svc.Outbox())
		assert.Len(t, h.srv.Messages("room-1"), 1)
	})
}
