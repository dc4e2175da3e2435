package conn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/wire"
)

func TestOutbox(t *testing.T) {
	t.Parallel()

	t.Run("send returns a valid unique client id at once and persists the message", func(t *testing.T) {
		h := parallelHarness(t, unplugged)
		seen := map[string]bool{}
		for range 100 {
			id, err := h.svc.Send("room-1", "hi")
			require.NoError(t, err)
			require.True(t, wire.ValidClientID(id), id)
			require.False(t, seen[id], "unique")
			seen[id] = true
		}
		h.settle()
		snap := h.store.Snapshot()
		require.Len(t, snap.Outbox, 100)
		assert.True(t, seen[snap.Outbox[0].ClientID])
		assert.Equal(t, h.clock.Now(), snap.Outbox[0].Created.UTC())
	})

	t.Run("send refuses an invalid room or body", func(t *testing.T) {
		h := parallelHarness(t)
		_, err := h.svc.Send("bad room", "hi")
		assert.ErrorIs(t, err, conn.ErrInvalidRoom)
		_, err = h.svc.Send("room-1", "   ")
		assert.ErrorIs(t, err, conn.ErrInvalidBody)
		_, err = h.svc.Send("room-1", string(make([]rune, wire.MaxBodyChars+1)))
		assert.ErrorIs(t, err, conn.ErrInvalidBody)
	})

	t.Run("pending messages go out in order after the reconnect", func(t *testing.T) {
		h := parallelHarness(t)
		h.loseNetwork()
		ids := []string{h.send("room-1", "one"), h.send("room-1", "two"), h.send("room-1", "three")}
		assert.Len(t, h.svc.Outbox(), 3)
		h.srv.Plug()
		h.advance(h.retryIn())
		require.Equal(t, conn.StateConnected, h.state())
		assert.Equal(t, ids, storedClientIDs(h.srv, "room-1"))
		assert.Empty(t, h.svc.Outbox())
		assert.Empty(t, h.store.Snapshot().Outbox)
	})

	t.Run("a message whose ack is lost is sent again and stored once", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.DropAcks(true)
		h.send("room-1", "idempotent")
		h.advance(10 * time.Second)
		h.srv.DropAcks(false)
		h.advance(10 * time.Second)
		assert.Len(t, h.srv.Received(wire.TypeSend), 3, "sent at 0 s, 10 s and 20 s")
		assert.Len(t, h.srv.Messages("room-1"), 1)
		assert.Empty(t, h.svc.Outbox())
	})

	t.Run("our own message coming back acks it", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		h.srv.DropAcks(true)
		h.send("room-1", "echo")
		assert.Empty(t, h.svc.Outbox())
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("a message never answered fails after five tries and retry sends it again", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.IgnoreSends(true)
		id := h.send("room-1", "into the void")
		h.advance(50 * time.Second)
		ob := h.svc.Outbox()
		require.Len(t, ob, 1)
		assert.True(t, ob[0].Failed)
		assert.Contains(t, ob[0].LastError, "5 tries")
		assert.Len(t, h.srv.Received(wire.TypeSend), 5)
		h.advance(time.Minute)
		assert.Len(t, h.srv.Received(wire.TypeSend), 5, "a failed message waits for the user")
		h.srv.IgnoreSends(false)
		h.svc.Retry(id)
		h.settle()
		assert.Empty(t, h.svc.Outbox())
		assert.Len(t, h.srv.Messages("room-1"), 1)
	})

	t.Run("a permanent refusal fails the message at once and the others go on", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.AnswerSends(&wire.ErrorFrame{Code: wire.CodeInvalidBody, Message: "body is empty"})
		bad := h.send("room-1", "refused")
		h.send("room-1", "fine")
		ob := h.svc.Outbox()
		require.Len(t, ob, 1)
		assert.Equal(t, bad, ob[0].ClientID)
		assert.True(t, ob[0].Failed)
		assert.Equal(t, "invalid_body: body is empty", ob[0].LastError)
		assert.Len(t, h.srv.Messages("room-1"), 1)
	})

	t.Run("rate limited waits retry-after, then sends", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.AnswerSends(&wire.ErrorFrame{Code: wire.CodeRateLimited, RetryAfterMS: 3000})
		h.send("room-1", "slow down")
		h.advance(2900 * ms)
		assert.Len(t, h.svc.Outbox(), 1)
		h.advance(100 * ms)
		assert.Empty(t, h.svc.Outbox())
	})

	t.Run("a store failure on the server is retried and counted", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.AnswerSends(&wire.ErrorFrame{Code: wire.CodeInternal, RetryAfterMS: 1000})
		h.send("room-1", "again")
		h.advance(time.Second)
		assert.Empty(t, h.svc.Outbox())
	})

	t.Run("unavailable holds the message until the reconnect", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.AnswerSends(&wire.ErrorFrame{Code: wire.CodeUnavailable, RetryAfterMS: 5000})
		h.send("room-1", "after the restart")
		h.advance(30 * time.Second)
		assert.Len(t, h.svc.Outbox(), 1, "not on the draining socket")
		h.srv.Break(wire.CloseDraining, wire.RetryAfter{RetryAfterMS: 5000}.Reason())
		h.settle()
		h.advance(5 * time.Second)
		assert.Empty(t, h.svc.Outbox())
		assert.Len(t, h.srv.Messages("room-1"), 1)
	})

	t.Run("a forbidden send fails the message and the room", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.Forbid("secret") })
		h.send("secret", "let me in")
		ob := h.svc.Outbox()
		require.Len(t, ob, 1)
		assert.True(t, ob[0].Failed)
	})

	t.Run("a reload while offline loses nothing", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		h.srv.Publish("room-1", "seen before the reload")
		h.settle()
		h.loseNetwork()
		one, two := h.send("room-1", "one"), h.send("room-1", "two")

		h.restart()
		assert.Equal(t, []string{one, two}, []string{h.svc.Outbox()[0].ClientID, h.svc.Outbox()[1].ClientID})
		h.subscribe("room-1")
		h.srv.Plug()
		h.advance(h.retryIn())
		require.Equal(t, conn.StateConnected, h.state())
		assert.Equal(t, map[string]int64{"room-1": 1}, hellos(h.srv)[1].Resume)
		assert.Empty(t, h.svc.Outbox())
		assert.Equal(t, []int64{2, 3}, h.seqs("room-1"), "only what is new since the reload")
	})

	t.Run("watch outbox shows pending and failed messages", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.AnswerSends(&wire.ErrorFrame{Code: wire.CodeConflict, Message: "taken"})
		id := h.send("room-1", "x")
		h.mu.Lock()
		obs := h.outboxes
		h.mu.Unlock()
		require.GreaterOrEqual(t, len(obs), 3)
		assert.Empty(t, obs[0], "the first call shows the outbox as it is")
		assert.Equal(t, id, obs[1][0].ClientID)
		assert.False(t, obs[1][0].Failed)
		assert.True(t, obs[len(obs)-1][0].Failed)

		h.svc.Discard(id)
		h.settle()
		assert.Empty(t, h.svc.Outbox())
	})

	t.Run("a backlog goes out a window at a time", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.IgnoreSends(true)
		for range 20 {
			h.send("room-1", "backlog")
		}
		assert.Len(t, h.srv.Received(wire.TypeSend), 8, "eight wait for their ack at most")
		h.srv.IgnoreSends(false)
		h.svc.ForceReconnect()
		h.settle()
		assert.Empty(t, h.svc.Outbox())
		assert.Len(t, h.srv.Messages("room-1"), 20)
	})
}
