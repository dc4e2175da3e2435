package conn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/wire"
)

func TestVisibility(t *testing.T) {
	t.Parallel()

	t.Run("a hidden page pings less while the link holds, finds a dead link in the background, and pings more after an idle drop", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t) // the fake server's welcome says heartbeat_ms 15000
		h.env.Fire(conn.EnvHidden)
		h.settle()
		pings := countFrames(h.srv, wire.TypePing)
		h.advance(2 * time.Minute)
		assert.InDelta(t, 5, countFrames(h.srv, wire.TypePing)-pings, 1, "from every 15 s (the server's heartbeat) growing by half at each answer")
		pings = countFrames(h.srv, wire.TypePing)
		h.advance(5 * time.Minute)
		assert.InDelta(t, 10, countFrames(h.srv, wire.TypePing)-pings, 1,
			"every 30 s once grown: twice the server's heartbeat, when the server pings a silent socket itself (visible: every 5 s)")
		assert.Equal(t, 1, h.srv.Stats().Dials)

		// A NAT drops the idle connection: nothing answers any more.
		h.socket().Blackhole()
		took := h.until(2*time.Minute, func() bool { return h.srv.Stats().Dials == 2 })
		assert.LessOrEqual(t, took, 2*30*time.Second+conn.VerifyTimeoutBase, "within two hidden beats")
		assert.True(t, h.logs.has("⚠️ ConnectionStability: Heartbeat timeout detected"))
		assert.Equal(t, conn.StateConnected, h.state(), "reconnected while still hidden")

		// The network kept less open than 30 s: the new link stays within 15 s.
		assert.True(t, h.logs.has("ConnectionStability: Hidden heartbeat shortened"))
		h.advance(time.Minute)
		pings = countFrames(h.srv, wire.TypePing)
		h.advance(5 * time.Minute)
		assert.InDelta(t, 20, countFrames(h.srv, wire.TypePing)-pings, 1, "every 15 s after the drop")
	})

	for _, ev := range []conn.EnvEvent{conn.EnvVisible, conn.EnvPageShow} {
		name := map[conn.EnvEvent]string{conn.EnvVisible: "becoming visible", conn.EnvPageShow: "pageshow"}[ev]
		t.Run(name+" probes at once and reconnects at once when the link died", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.env.Fire(conn.EnvHidden)
			h.advance(time.Minute)
			h.socket().Blackhole()
			h.advance(time.Minute)
			h.env.Fire(ev)
			took := h.until(5*time.Second, func() bool { return h.srv.Stats().Dials == 2 })
			assert.LessOrEqual(t, took, conn.VerifyTimeoutBase+100*ms)
			assert.Equal(t, conn.StateConnected, h.state())
		})

		t.Run(name+" keeps a link that answers", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.env.Fire(conn.EnvHidden)
			h.advance(time.Minute)
			pings := countFrames(h.srv, wire.TypePing)
			h.env.Fire(ev)
			h.settle()
			assert.Equal(t, pings+1, countFrames(h.srv, wire.TypePing), "probed at once")
			h.advance(time.Minute)
			assert.Equal(t, 1, h.srv.Stats().Dials)
		})
	}

	t.Run("becoming visible while waiting for a retry connects now", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withConfig(noJitter))
		h.loseNetwork()
		h.advance(h.retryIn())
		require.Greater(t, h.retryIn(), time.Second)
		h.srv.Plug()
		h.env.Fire(conn.EnvHidden)
		h.env.Fire(conn.EnvVisible)
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("a frozen page that runs again is checked like a visible one", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.env.Fire(conn.EnvFreeze)
		h.socket().Blackhole()
		h.env.Fire(conn.EnvResume)
		h.advance(conn.VerifyTimeoutBase + 10*ms)
		assert.Equal(t, 2, h.srv.Stats().Dials)
		assert.Equal(t, 1, h.status().Wakes, "the status says the page woke")
	})

	t.Run("a wall-clock jump triggers the same probe", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.advance(5 * time.Second)
		h.socket().Blackhole()
		h.clock.Jump(10 * time.Minute)
		h.settle()
		assert.Equal(t, 1, h.srv.Stats().Dials, "a jump alone is no proof of death")
		took := h.until(5*time.Second, func() bool { return h.srv.Stats().Dials == 2 })
		assert.LessOrEqual(t, took, conn.VerifyTimeoutBase+100*ms)
		assert.True(t, h.logs.has("ConnectionStability: Clock jumped: checking the connection"))
		assert.Equal(t, 1, h.status().Wakes, "a page that did not run for ten minutes woke")
	})

	t.Run("a wall-clock jump keeps a link that answers", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.advance(5 * time.Second)
		h.clock.Jump(10 * time.Minute)
		h.settle()
		h.advance(time.Minute)
		assert.Equal(t, 1, h.srv.Stats().Dials)
		assert.Equal(t, conn.StateConnected, h.state())
	})
}

func TestAHiddenPageWithThrottledTimersSeesNoFalseDeath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env.Fire(conn.EnvHidden)
	h.settle()
	pings := countFrames(h.srv, wire.TypePing)
	for range 5 {
		h.clock.Jump(time.Minute) // a throttled tick, a minute late
		h.settle()
	}
	assert.Equal(t, pings+5, countFrames(h.srv, wire.TypePing), "a ping a tick")
	assert.Equal(t, 1, h.srv.Stats().Dials, "each answered: no death however late the ticks")
	assert.False(t, h.logs.has("ConnectionStability: Clock jumped: checking the connection"))
}
