package conn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
)

func TestHeartbeat(t *testing.T) {
	t.Parallel()

	t.Run("a ping goes out every quality check interval while visible", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.advance(15 * time.Second)
		assert.Equal(t, 3, countFrames(h.srv, "ping"))
		h.advance(5 * time.Second)
		assert.Equal(t, 4, countFrames(h.srv, "ping"))
	})

	t.Run("pongs keep a quiet link alive", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.advance(2 * time.Minute)
		assert.Equal(t, conn.StateConnected, h.state())
		assert.Equal(t, 1, h.srv.Stats().Dials)
	})

	for _, fault := range []struct {
		name  string
		apply func(h *harness)
	}{
		{"a link that lost every frame", func(h *harness) { h.socket().Blackhole() }},
		{"a server that stopped answering pings", func(h *harness) { h.srv.MutePongs(true) }},
	} {
		t.Run(fault.name+" is found dead within twenty seconds", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.advance(5 * time.Second) // the ping at 5 s, answered
			lastInbound := h.clock.Now()
			fault.apply(h)
			took := h.until(30*time.Second, func() bool { return h.srv.Stats().Dials == 2 })
			assert.LessOrEqual(t, h.clock.Now().Sub(lastInbound), 20*time.Second)
			assert.GreaterOrEqual(t, took, 15*time.Second-conn.FirstRetryWindow)
			assert.True(t, h.logs.has("⚠️ ConnectionStability: Heartbeat timeout detected"))
			assert.True(t, h.logs.has("💔 ConnectionStability: Heartbeat failed - starting reconnection"))
			h.srv.MutePongs(false)
			h.settle()
			require.Equal(t, conn.StateConnected, h.state())
		})
	}

	t.Run("any inbound frame counts as life", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.subscribe("room-1")
		h.srv.MutePongs(true)
		for range 8 {
			h.advance(5 * time.Second)
			h.srv.Publish("room-1", "still here")
		}
		assert.Equal(t, 1, h.srv.Stats().Dials)
	})
}
