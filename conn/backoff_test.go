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

func unplugged(h *harness) { h.srv.Unplug() }

func noJitter(c *conn.Config) { c.Jitter = conn.JitterNone }

func TestBackoffSteps(t *testing.T) {
	t.Parallel()
	base, maxDelay := time.Second, 30*time.Second
	tests := []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{"the first attempt waits the base delay", 1, time.Second},
		{"the second attempt doubles it", 2, 2 * time.Second},
		{"the third doubles again", 3, 4 * time.Second},
		{"the fourth waits eight seconds", 4, 8 * time.Second},
		{"the fifth waits sixteen seconds", 5, 16 * time.Second},
		{"the sixth is capped at the max", 6, 30 * time.Second},
		{"the hundredth stays at the max without overflowing", 100, 30 * time.Second},
		{"attempt zero counts as the first", 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, conn.BackoffStep(tt.attempt, base, maxDelay))
		})
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	step := 8 * time.Second
	t.Run("equal jitter keeps half the delay fixed and draws the other half", func(t *testing.T) {
		t.Parallel()
		lo, hi := step, time.Duration(0)
		for seed := range uint64(2000) {
			d := conn.Jittered(seed, step, conn.JitterEqual)
			require.GreaterOrEqual(t, d, step/2)
			require.LessOrEqual(t, d, step)
			lo, hi = min(lo, d), max(hi, d)
		}
		assert.Less(t, lo, step/2+step/10, "the random half is used")
		assert.Greater(t, hi, step-step/10, "the random half is used")
	})
	t.Run("full jitter draws the whole delay", func(t *testing.T) {
		t.Parallel()
		for seed := range uint64(500) {
			d := conn.Jittered(seed, step, conn.JitterFull)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, step)
		}
	})
	t.Run("no jitter keeps the step", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, step, conn.Jittered(7, step, conn.JitterNone))
	})
	t.Run("the same seed gives the same delay", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, conn.Jittered(42, step, conn.JitterEqual), conn.Jittered(42, step, conn.JitterEqual))
	})
}

func TestBackoffOfTheService(t *testing.T) {
	t.Parallel()

	t.Run("retries wait 1, 2, 4, 8, 16, 30, 30 s while the network is down", func(t *testing.T) {
		h := parallelHarness(t, withConfig(noJitter), unplugged)
		var waits []time.Duration
		var attempts []int
		for range 7 {
			waits = append(waits, h.retryIn())
			attempts = append(attempts, h.status().ReconnectAttempts)
			h.advance(h.retryIn())
		}
		assert.Equal(t, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}, waits)
		assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7}, attempts)
		assert.Equal(t, conn.StateReconnecting, h.state())
	})

	t.Run("equal jitter keeps each wait between half the step and the step", func(t *testing.T) {
		h := parallelHarness(t, unplugged, withConfig(func(c *conn.Config) { c.DisableFallbackPolling = true }))
		for n := 1; n <= 8; n++ {
			step := conn.BackoffStep(n, time.Second, 30*time.Second)
			wait := h.retryIn()
			assert.GreaterOrEqual(t, wait, step/2, "attempt %d", n)
			assert.LessOrEqual(t, wait, step, "attempt %d", n)
			h.advance(wait)
		}
	})

	t.Run("the first retry after a drop lands within half a second", func(t *testing.T) {
		t.Parallel()
		for _, r := range []float64{0, 0.25, 0.5, 0.99} {
			h := newHarness(t, func(h *harness) { h.rand = func() float64 { return r } })
			h.srv.Break(wire.CloseAbnormal, "")
			h.settle()
			wait := h.retryIn()
			assert.GreaterOrEqual(t, wait, time.Duration(0))
			assert.Less(t, wait, conn.FirstRetryWindow)
			h.advance(wait)
			assert.Equal(t, conn.StateConnected, h.state())
		}
	})

	t.Run("the retry after a failed first retry backs off normally", func(t *testing.T) {
		h := parallelHarness(t, withConfig(noJitter))
		h.loseNetwork()
		h.advance(h.retryIn())
		assert.Equal(t, 2*time.Second, h.retryIn())
	})

	t.Run("attempts reset only after ten seconds of stable connection", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Break(wire.CloseAbnormal, "")
		h.settle()
		h.advance(h.retryIn())
		require.Equal(t, conn.StateConnected, h.state())
		assert.Equal(t, 1, h.status().ReconnectAttempts, "not reset at the welcome")

		h.advance(9 * time.Second)
		h.srv.Break(wire.CloseAbnormal, "")
		h.settle()
		assert.Equal(t, 2, h.status().ReconnectAttempts, "nine seconds is not stable")
		h.advance(h.retryIn())
		require.Equal(t, conn.StateConnected, h.state())

		h.advance(10 * time.Second)
		assert.Equal(t, 0, h.status().ReconnectAttempts)
	})

	t.Run("force reconnect skips the wait", func(t *testing.T) {
		h := parallelHarness(t, withConfig(noJitter))
		h.loseNetwork()
		for h.retryIn() < 4*time.Second {
			h.advance(h.retryIn())
		}
		h.srv.Plug()
		before := h.clock.Now()
		h.svc.ForceReconnect()
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
		assert.Equal(t, before, h.clock.Now(), "no time passed")
		assert.True(t, h.status().NextRetryAt.IsZero())
	})

	t.Run("force reconnect on a live connection replaces the socket", func(t *testing.T) {
		h := parallelHarness(t)
		old := h.socket()
		h.svc.ForceReconnect()
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
		assert.NotSame(t, old, h.socket())
		assert.Equal(t, 2, h.srv.Stats().Dials)
	})

	t.Run("a dial refused with retry-after waits that long", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) {
			h.srv.RefuseWebSocket(&conn.HTTPError{Status: 503, Code: wire.CodeUnavailable, RetryAfter: 7 * time.Second})
		}, withConfig(func(c *conn.Config) { c.DisableFallbackPolling = true }))
		assert.Equal(t, 7*time.Second, h.retryIn())
		assert.Contains(t, h.status().LastError, "failed to dial")
	})

	t.Run("a token source that fails counts as a failed attempt", func(t *testing.T) {
		h := parallelHarness(t, withConfig(noJitter), func(h *harness) { h.tokens.FailToken(errors.New("storage empty")) })
		assert.Equal(t, conn.StateReconnecting, h.state())
		assert.Contains(t, h.status().LastError, "failed to get a token")
		h.tokens.FailToken(nil)
		h.advance(h.retryIn())
		assert.Equal(t, conn.StateConnected, h.state())
	})
}
