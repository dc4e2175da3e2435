package conn_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/wire"
)

func TestSubscriptions(t *testing.T) {
	t.Parallel()

	t.Run("a room subscribed later is asked since its last seq", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Seed("room-1", 3)
		h.subscribe("room-1")
		assert.Equal(t, []int64{1, 2, 3}, h.seqs("room-1"))
		subs := h.srv.Received(wire.TypeSubscribe)
		require.Len(t, subs, 1)
		assert.Equal(t, &wire.Subscribe{Room: "room-1", Since: 0}, subs[0])
	})

	t.Run("a subscribe refused as rate limited is asked again after retry_after_ms on the same socket", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Seed("room-1", 3)
		h.srv.AnswerSubscribes(&wire.ErrorFrame{Code: wire.CodeRateLimited, Message: "too many subscribes", RetryAfterMS: 3000})
		h.subscribe("room-1")
		assert.Empty(t, h.seqs("room-1"), "refused: nothing replayed")
		h.advance(2 * time.Second)
		assert.Len(t, h.srv.Received(wire.TypeSubscribe), 1, "not before retry_after_ms")
		h.advance(10 * time.Second)
		assert.Equal(t, []int64{1, 2, 3}, h.seqs("room-1"))
		subs := h.srv.Received(wire.TypeSubscribe)
		require.Len(t, subs, 2, "asked once more, not in a loop")
		assert.Equal(t, &wire.Subscribe{Room: "room-1", Since: 0}, subs[1])
		assert.Len(t, h.srv.Sockets(), 1, "on the same socket")
	})

	t.Run("a first visit starts after the page the caller read", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Seed("room-1", 120)
		h.subscribeAfter("room-1", 120)
		h.srv.Publish("room-1", "new")
		h.settle()
		assert.Equal(t, []int64{121}, h.seqs("room-1"), "no replay of what the page showed")
		subs := h.srv.Received(wire.TypeSubscribe)
		require.Len(t, subs, 1)
		assert.Equal(t, int64(120), subs[0].(*wire.Subscribe).Since)

		h.restart()
		h.subscribeAfter("room-1", 0)
		h.srv.Publish("room-1", "after the reload")
		h.settle()
		assert.Equal(t, []int64{122}, h.seqs("room-1"), "the start is persisted like any seq: no replay after the reload")
	})

	t.Run("a room seen before resumes from its own seq whatever the caller read", func(t *testing.T) {
		h := parallelHarness(t)
		stop := h.subscribe("room-1")
		h.srv.Publish("room-1", "one")
		h.settle()
		stop()
		h.settle()
		h.srv.Seed("room-1", 5)
		h.subscribeAfter("room-1", 6)
		assert.Equal(t, conntest.SeqRange(1, 6), h.seqs("room-1"), "2-6 are delivered, none skipped")
	})

	t.Run("hello resumes every room from its last seq after a drop", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-a")
		h.subscribe("room-b")
		for range 3 {
			h.srv.Publish("room-a", "a")
		}
		h.srv.Publish("room-b", "b")
		h.settle()
		h.srv.Break(wire.CloseGoingAway, "")
		h.srv.Publish("room-a", "missed while away")
		h.settle()
		h.advance(h.retryIn())
		require.Equal(t, conn.StateConnected, h.state())
		hs := hellos(h.srv)
		require.Len(t, hs, 2)
		assert.Equal(t, map[string]int64{"room-a": 3, "room-b": 1}, hs[1].Resume)
		assert.Equal(t, conntest.SeqRange(1, 4), h.seqs("room-a"), "the replay brought the missed one, once")
		assert.Len(t, h.srv.Received(wire.TypeSubscribe), 2, "no subscribe needed after the resume")
	})

	t.Run("a gap is read over HTTP and delivered in order", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		h.srv.Publish("room-1", "one")
		h.settle()
		h.srv.Seed("room-1", 3) // 2, 3, 4 stored but never sent
		msgs := h.srv.Messages("room-1")
		h.socket().Inject(&msgs[3])
		h.settle()
		assert.Equal(t, conntest.SeqRange(1, 4), h.seqs("room-1"))
		assert.Equal(t, 1, h.srv.Stats().Polls)
	})

	t.Run("duplicates are dropped by seq", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		msg := h.srv.Publish("room-1", "once")
		h.settle()
		h.socket().Inject(&msg)
		h.socket().Inject(&msg)
		h.settle()
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("a replay that did not recover is paged up to its head", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Seed("room-1", 1234)
		h.subscribe("room-1")
		assert.Equal(t, conntest.SeqRange(1, 1234), h.seqs("room-1"))
		assert.Equal(t, 2, h.srv.Stats().Polls, "two pages of 500 after the replay")
	})

	t.Run("pages that come before the replay ends wait their turn", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.Latency(50 * ms) })
		h.advance(50 * ms)
		h.srv.Seed("room-1", 700)
		h.subscribe("room-1")
		h.advance(50 * ms)
		h.advance(50 * ms)
		assert.Equal(t, conntest.SeqRange(1, 700), h.seqs("room-1"))
	})

	t.Run("seqs missing on the server are skipped rather than waited for", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		h.socket().Inject(&wire.Message{Room: "room-1", Seq: 5, ID: "x", Body: "from nowhere"})
		h.settle()
		assert.Equal(t, []int64{5}, h.seqs("room-1"))
	})

	t.Run("a gap whose page fails is read again at the next tick", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		h.srv.Seed("room-1", 2)
		h.srv.FailHTTP("messages", &conn.HTTPError{Status: 503, Code: wire.CodeInternal})
		msgs := h.srv.Messages("room-1")
		h.socket().Inject(&msgs[1])
		h.settle()
		assert.Empty(t, h.seqs("room-1"))
		h.advance(5 * time.Second)
		assert.Equal(t, []int64{1, 2}, h.seqs("room-1"))
	})

	t.Run("unsubscribing stops the room and tells the server", func(t *testing.T) {
		h := parallelHarness(t)
		stop := h.subscribe("room-1")
		h.srv.Publish("room-1", "one")
		h.settle()
		stop()
		stop()
		h.settle()
		h.srv.Publish("room-1", "two")
		h.settle()
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
		assert.Len(t, h.srv.Received(wire.TypeUnsubscribe), 1)
	})

	t.Run("a second subscriber shares the room and the last one out unsubscribes", func(t *testing.T) {
		h := parallelHarness(t)
		stop1 := h.subscribe("room-1")
		var second []int64
		stop2 := h.svc.SubscribeToMessages("room-1", func(m wire.Message) { second = append(second, m.Seq) }, nil)
		h.settle()
		h.srv.Publish("room-1", "both")
		h.settle()
		stop1()
		h.settle()
		assert.Empty(t, h.srv.Received(wire.TypeUnsubscribe))
		h.srv.Publish("room-1", "second only")
		h.settle()
		stop2()
		h.settle()
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
		assert.Equal(t, []int64{1, 2}, second)
		assert.Len(t, h.srv.Received(wire.TypeSubscribe), 1)
		assert.Len(t, h.srv.Received(wire.TypeUnsubscribe), 1)
	})

	t.Run("a forbidden error frame fails that room only", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.Forbid("secret") })
		h.subscribe("room-1")
		h.subscribe("secret")
		errs := h.roomErrors("secret")
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], conn.ErrForbidden)
		h.srv.Publish("room-1", "others go on")
		h.settle()
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
		h.srv.Break(wire.CloseAbnormal, "")
		h.settle()
		h.advance(h.retryIn())
		assert.Equal(t, map[string]int64{"room-1": 1}, hellos(h.srv)[1].Resume, "the failed room is not resumed")
	})

	t.Run("an invalid room is refused through onError", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("not a room!")
		errs := h.roomErrors("not a room!")
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], conn.ErrInvalidRoom)
	})

	t.Run("messages arrive in seq order exactly once through many drops", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		for i := range 30 {
			h.srv.Publish("room-1", "m")
			if i%4 == 0 {
				h.srv.Break(wire.CloseAbnormal, "")
			}
			h.settle()
			if h.state() != conn.StateConnected {
				h.srv.Publish("room-1", "while away")
				h.advance(h.retryIn())
			}
		}
		h.settle()
		n := int64(len(h.srv.Messages("room-1")))
		assert.Equal(t, conntest.SeqRange(1, n), h.seqs("room-1"))
	})
}

func TestHistory(t *testing.T) {
	t.Parallel()

	t.Run("pages go backwards from the newest, each in seq order", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Seed("room-1", 10)
		pages := []struct {
			before int64
			want   []int64
		}{
			{0, conntest.SeqRange(7, 10)},
			{7, conntest.SeqRange(3, 6)},
			{3, conntest.SeqRange(1, 2)},
			{1, []int64{}},
		}
		for _, p := range pages {
			msgs, err := h.svc.History(t.Context(), "room-1", p.before, 4)
			require.NoError(t, err)
			assert.Equal(t, p.want, conntest.Seqs(msgs), "before %d", p.before)
		}
	})

	t.Run("a limit over the protocol's page limit is cut to it", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Seed("room-1", wire.MaxPageLimit+20)
		msgs, err := h.svc.History(t.Context(), "room-1", 0, 10*wire.MaxPageLimit)
		require.NoError(t, err)
		assert.Len(t, msgs, wire.MaxPageLimit)
		assert.EqualValues(t, wire.MaxPageLimit+20, msgs[len(msgs)-1].Seq)
	})

	t.Run("a refused token is renewed once and the page read with the new one", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Seed("room-1", 3)
		h.srv.AcceptTokens("token-2")
		h.tokens.QueueRefresh("token-2")
		msgs, err := h.svc.History(t.Context(), "room-1", 0, 10)
		require.NoError(t, err)
		assert.Equal(t, conntest.SeqRange(1, 3), conntest.Seqs(msgs))
		_, refreshes := h.tokens.Calls()
		assert.Equal(t, 1, refreshes)
	})

	t.Run("a token refused twice is the server's answer, after one refresh", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.AcceptTokens("nobody")
		h.tokens.QueueRefresh("token-2", "token-3")
		_, err := h.svc.History(t.Context(), "room-1", 0, 10)
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 401, he.Status)
		_, refreshes := h.tokens.Calls()
		assert.Equal(t, 1, refreshes)
	})

	t.Run("no new token to be had returns the refusal", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.FailHTTP("history", &conn.HTTPError{Status: 401, Code: wire.CodeUnauthorized, Message: "token expired"})
		_, err := h.svc.History(t.Context(), "room-1", 0, 10)
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 401, he.Status)
	})

	t.Run("a room the user is not part of is forbidden", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Forbid("room-9")
		_, err := h.svc.History(t.Context(), "room-9", 0, 10)
		assert.ErrorIs(t, err, conn.ErrForbidden)
	})

	t.Run("a malformed room is refused without asking the server", func(t *testing.T) {
		h := parallelHarness(t)
		_, err := h.svc.History(t.Context(), "no such/room", 0, 10)
		assert.ErrorIs(t, err, conn.ErrInvalidRoom)
		assert.Zero(t, h.srv.Stats().Histories)
	})

	t.Run("the network error comes back wrapped", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Unplug()
		_, err := h.svc.History(t.Context(), "room-1", 0, 10)
		assert.ErrorContains(t, err, "failed to read the history of room-1")
		assert.ErrorIs(t, err, conntest.ErrUnreachable)
	})

	t.Run("close ends a call that waits for the server", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.HangHTTP(true)
		done := make(chan error, 1)
		go func() {
			_, err := h.svc.History(context.Background(), "room-1", 0, 10)
			done <- err
		}()
		require.Eventually(t, func() bool { return h.srv.Blocked() == 1 }, 5*time.Second, 100*time.Microsecond)
		h.svc.Close()
		assert.ErrorIs(t, <-done, conn.ErrClosed)
		h.eventuallyUnblocked("the history call left the fake")
		_, err := h.svc.History(t.Context(), "room-1", 0, 10)
		assert.ErrorIs(t, err, conn.ErrClosed)
	})

	t.Run("the caller's context ends a call that waits for the server", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.HangHTTP(true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := h.svc.History(ctx, "room-1", 0, 10)
			done <- err
		}()
		require.Eventually(t, func() bool { return h.srv.Blocked() == 1 }, 5*time.Second, 100*time.Microsecond)
		cancel()
		err := <-done
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, conn.ErrClosed)
		h.eventuallyUnblocked("the history call left the fake")
		h.srv.HangHTTP(false)
	})
}
