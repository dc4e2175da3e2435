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

func historySeqs(msgs []wire.Message) []int64 {
	out := []int64{}
	for _, m := range msgs {
		out = append(out, m.Seq)
	}
	return out
}

func TestHistory(t *testing.T) {
	t.Parallel()

	t.Run("pages go backwards from the newest, each in seq order", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.srv.Seed("room-1", 10)
		pages := []struct {
			before int64
			want   []int64
		}{
			{0, seqRange(7, 10)},
			{7, seqRange(3, 6)},
			{3, seqRange(1, 2)},
			{1, []int64{}},
		}
		for _, p := range pages {
			msgs, err := h.svc.History(t.Context(), "room-1", p.before, 4)
			require.NoError(t, err)
			assert.Equal(t, p.want, historySeqs(msgs), "before %d", p.before)
		}
	})

	t.Run("a limit over the protocol's page limit is cut to it", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.srv.Seed("room-1", wire.MaxPageLimit+20)
		msgs, err := h.svc.History(t.Context(), "room-1", 0, 10*wire.MaxPageLimit)
		require.NoError(t, err)
		assert.Len(t, msgs, wire.MaxPageLimit)
		assert.EqualValues(t, wire.MaxPageLimit+20, msgs[len(msgs)-1].Seq)
	})

	t.Run("a refused token is renewed once and the page read with the new one", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.srv.Seed("room-1", 3)
		h.srv.AcceptTokens("token-2")
		h.tokens.QueueRefresh("token-2")
		msgs, err := h.svc.History(t.Context(), "room-1", 0, 10)
		require.NoError(t, err)
		assert.Equal(t, seqRange(1, 3), historySeqs(msgs))
		_, refreshes := h.tokens.Calls()
		assert.Equal(t, 1, refreshes)
	})

	t.Run("a token refused twice is the server's answer, after one refresh", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
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
		t.Parallel()
		h := newHarness(t)
		h.srv.FailHTTP("history", &conn.HTTPError{Status: 401, Code: wire.CodeUnauthorized, Message: "token expired"})
		_, err := h.svc.History(t.Context(), "room-1", 0, 10)
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 401, he.Status)
	})

	t.Run("a room the user is not part of is forbidden", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.srv.Forbid("room-9")
		_, err := h.svc.History(t.Context(), "room-9", 0, 10)
		assert.ErrorIs(t, err, conn.ErrForbidden)
	})

	t.Run("a malformed room is refused without asking the server", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		_, err := h.svc.History(t.Context(), "no such/room", 0, 10)
		assert.ErrorIs(t, err, conn.ErrInvalidRoom)
		assert.Zero(t, h.srv.Stats().Histories)
	})

	t.Run("the network error comes back wrapped", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.srv.Unplug()
		_, err := h.svc.History(t.Context(), "room-1", 0, 10)
		assert.ErrorContains(t, err, "failed to read the history of room-1")
		assert.ErrorIs(t, err, conntest.ErrUnreachable)
	})

	t.Run("close ends a call that waits for the server", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
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
		t.Parallel()
		h := newHarness(t)
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
