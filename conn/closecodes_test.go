package conn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/conn"
	"tether/conn/wire"
)

func TestCloseCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		code     wire.CloseCode
		reason   string
		min, max time.Duration
		warn     bool
	}{
		{"normal closure retries within half a second", wire.CloseNormal, "", 0, conn.FirstRetryWindow, false},
		{"going away retries within half a second", wire.CloseGoingAway, "", 0, conn.FirstRetryWindow, false},
		{"an abnormal closure retries within half a second", wire.CloseAbnormal, "", 0, conn.FirstRetryWindow, false},
		{"a server error retries within half a second", wire.CloseServerError, "", 0, conn.FirstRetryWindow, false},
		{"a restart retries within half a second", wire.CloseRestart, "", 0, conn.FirstRetryWindow, false},
		{"bad data is logged and never retried in a tight loop", wire.CloseBadData, "", time.Second, time.Second, true},
		{"a policy close is logged and never retried in a tight loop", wire.ClosePolicy, "no hello", time.Second, time.Second, true},
		{"too big is logged and never retried in a tight loop", wire.CloseTooBig, "", time.Second, time.Second, true},
		{"draining retries at a random moment within its window", wire.CloseDraining, `{"retry_after_ms":5000}`, 0, 5 * time.Second, false},
		{"draining without a readable window uses five seconds", wire.CloseDraining, "bye", 0, 5 * time.Second, false},
		{"rate limited waits exactly retry_after_ms", wire.CloseRateLimited, `{"retry_after_ms":7000}`, 7 * time.Second, 7 * time.Second, false},
		{"an unknown code retries with backoff", wire.CloseCode(3999), "", 0, conn.FirstRetryWindow, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := parallelHarness(t)
			h.srv.Break(tt.code, tt.reason)
			h.settle()
			wait := h.retryIn()
			assert.GreaterOrEqual(t, wait, tt.min)
			assert.LessOrEqual(t, wait, tt.max)
			assert.Equal(t, tt.warn, h.logs.has("ConnectionStability: Server closed the connection for a protocol fault"))
			h.advance(wait)
			assert.Equal(t, conn.StateConnected, h.state())
		})
	}

	t.Run("repeated protocol closes back off instead of looping", func(t *testing.T) {
		h := parallelHarness(t, withConfig(noJitter))
		var waits []time.Duration
		for range 4 {
			h.srv.Break(wire.ClosePolicy, "")
			h.settle()
			waits = append(waits, h.retryIn())
			h.advance(h.retryIn())
		}
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, waits)
	})

	t.Run("4401 asks the token source once and reconnects with the new token", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.tokens.QueueRefresh("token-2") })
		h.srv.AcceptTokens("token-2")
		h.srv.Break(wire.CloseUnauthorized, "token expired")
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
		_, refreshes := h.tokens.Calls()
		assert.Equal(t, 1, refreshes)
		hs := hellos(h.srv)
		assert.Equal(t, "token-2", hs[len(hs)-1].Token)
	})

	t.Run("4401 without a new token is unauthorized until force reconnect finds one", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.AcceptTokens("token-2")
		h.srv.Break(wire.CloseUnauthorized, "token expired")
		h.settle()
		st := h.status()
		assert.Equal(t, conn.StateUnauthorized, st.State)
		assert.True(t, st.NextRetryAt.IsZero())
		assert.Zero(t, h.clock.Pending(), "nothing retries")
		h.advance(time.Hour)
		assert.Equal(t, 1, h.srv.Stats().Dials)

		h.svc.ForceReconnect()
		h.settle()
		assert.Equal(t, conn.StateUnauthorized, h.state(), "still no token")
		h.tokens.QueueRefresh("token-2")
		h.svc.ForceReconnect()
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
		_, refreshes := h.tokens.Calls()
		assert.Equal(t, 3, refreshes)
	})

	t.Run("4401 with a refreshed token that is refused too is unauthorized", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.tokens.QueueRefresh("token-2", "token-3") })
		h.srv.AcceptTokens("token-9")
		h.srv.Break(wire.CloseUnauthorized, "")
		h.settle()
		assert.Equal(t, conn.StateUnauthorized, h.state())
		_, refreshes := h.tokens.Calls()
		assert.Equal(t, 1, refreshes, "asked once")
	})

	t.Run("an upgrade refused with 401 is a refused token", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) {
			h.srv.RefuseWebSocket(&conn.HTTPError{Status: 401, Code: wire.CodeUnauthorized})
		})
		assert.Equal(t, conn.StateUnauthorized, h.state())
	})

	t.Run("4403 fails the room it names and the others go on", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		h.subscribe("secret")
		h.srv.Break(wire.CloseForbidden, "room=secret")
		h.settle()
		errs := h.roomErrors("secret")
		if assert.Len(t, errs, 1) {
			assert.ErrorIs(t, errs[0], conn.ErrForbidden)
		}
		assert.Empty(t, h.roomErrors("room-1"))
		h.advance(h.retryIn())
		assert.Equal(t, map[string]int64{"room-1": 0}, hellos(h.srv)[1].Resume)
	})

	forbiddenRooms := []struct {
		name           string
		reason         string
		failed, spared string
	}{
		{"4403 without a room fails the room subscribed last", "", "room-2", "room-1"},
		{"4403 naming a room as its whole reason fails that room", "room-1", "room-1", "room-2"},
	}
	for _, tt := range forbiddenRooms {
		t.Run(tt.name, func(t *testing.T) {
			h := parallelHarness(t)
			h.subscribe("room-1")
			h.subscribe("room-2")
			h.srv.Break(wire.CloseForbidden, tt.reason)
			h.settle()
			assert.Len(t, h.roomErrors(tt.failed), 1)
			assert.Empty(t, h.roomErrors(tt.spared))
		})
	}
}
