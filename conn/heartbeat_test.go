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

func TestHeartbeat(t *testing.T) {
	t.Parallel()

	t.Run("a ping goes out every quality check interval while visible", func(t *testing.T) {
		h := parallelHarness(t)
		h.advance(15 * time.Second)
		assert.Equal(t, 3, countFrames(h.srv, "ping"))
		h.advance(5 * time.Second)
		assert.Equal(t, 4, countFrames(h.srv, "ping"))
	})

	t.Run("pongs keep a quiet link alive", func(t *testing.T) {
		h := parallelHarness(t)
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
			h := parallelHarness(t)
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
		h := parallelHarness(t)
		h.subscribe("room-1")
		h.srv.MutePongs(true)
		for range 8 {
			h.advance(5 * time.Second)
			h.srv.Publish("room-1", "still here")
		}
		assert.Equal(t, 1, h.srv.Stats().Dials)
	})
}

func TestVisibility(t *testing.T) {
	t.Parallel()

	t.Run("a hidden page pings less while the link holds, finds a dead link in the background, and pings more after an idle drop", func(t *testing.T) {
		h := parallelHarness(t) // the fake server's welcome says heartbeat_ms 15000
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
			h := parallelHarness(t)
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
			h := parallelHarness(t)
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
		h := parallelHarness(t, withConfig(noJitter))
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
		h := parallelHarness(t)
		h.env.Fire(conn.EnvFreeze)
		h.socket().Blackhole()
		h.env.Fire(conn.EnvResume)
		h.advance(conn.VerifyTimeoutBase + 10*ms)
		assert.Equal(t, 2, h.srv.Stats().Dials)
		assert.Equal(t, 1, h.status().Wakes, "the status says the page woke")
	})

	t.Run("a wall-clock jump triggers the same probe", func(t *testing.T) {
		h := parallelHarness(t)
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
		h := parallelHarness(t)
		h.advance(5 * time.Second)
		h.clock.Jump(10 * time.Minute)
		h.settle()
		h.advance(time.Minute)
		assert.Equal(t, 1, h.srv.Stats().Dials)
		assert.Equal(t, conn.StateConnected, h.state())
	})
}

func TestAHiddenPageWithThrottledTimersSeesNoFalseDeath(t *testing.T) {
	h := parallelHarness(t)
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

func TestNetworkHints(t *testing.T) {
	t.Parallel()

	t.Run("offline shows at once and a pong on the socket corrects it", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.Latency(100 * ms) })
		h.advance(100 * ms)
		require.Equal(t, conn.StateConnected, h.state())

		h.env.Fire(conn.EnvOffline)
		h.settle()
		st := h.status()
		assert.Equal(t, conn.StateOffline, st.State)
		assert.False(t, st.IsConnected)
		assert.Equal(t, conn.TransportNone, st.ConnectionType)

		h.advance(100 * ms)
		assert.Equal(t, conn.StateConnected, h.state(), "the pong proved the network")
		assert.Equal(t, 1, h.srv.Stats().Dials, "the socket was kept")
	})

	t.Run("offline with a dead socket drops it when no pong comes", func(t *testing.T) {
		h := parallelHarness(t)
		h.srv.Unplug()
		h.env.Fire(conn.EnvOffline)
		h.settle()
		assert.Equal(t, conn.StateOffline, h.state())
		h.advance(conn.VerifyTimeoutBase + 10*ms)
		assert.Equal(t, conn.StateOffline, h.state())
		assert.Greater(t, h.srv.Stats().Dials, 1, "it tried a new socket")
		assert.Greater(t, h.status().ReconnectAttempts, 0)
		assert.False(t, h.status().NextRetryAt.IsZero(), "the backoff goes on while offline")
	})

	t.Run("online cancels the backoff and reconnects now", func(t *testing.T) {
		h := parallelHarness(t, withConfig(noJitter))
		h.srv.Unplug()
		h.env.Fire(conn.EnvOffline)
		h.srv.Break(wire.CloseAbnormal, "")
		h.settle()
		for h.retryIn() < 8*time.Second {
			h.advance(h.retryIn())
		}
		h.srv.Plug()
		before := h.clock.Now()
		h.env.Fire(conn.EnvOnline)
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
		assert.Equal(t, before, h.clock.Now())
		assert.True(t, h.logs.has("ConnectionStability: Network online - checking the connection"))
	})

	t.Run("online with an open socket pings it and replaces it when no pong comes", func(t *testing.T) {
		h := parallelHarness(t)
		h.socket().Blackhole()
		h.env.Fire(conn.EnvOnline)
		h.settle()
		assert.Equal(t, 1, h.srv.Stats().Dials)
		h.advance(conn.VerifyTimeoutBase + 10*ms)
		assert.Equal(t, 2, h.srv.Stats().Dials, "replaced at once, no backoff")
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("a socket that lived through an offline spell is replaced at once when the network is back", func(t *testing.T) {
		h := parallelHarness(t)
		h.subscribe("room-1")
		h.srv.Publish("room-1", "before")
		h.settle()
		// The browser keeps the socket open and holds its frames.
		h.socket().Blackhole()
		h.env.Fire(conn.EnvOffline)
		h.settle()
		assert.Equal(t, conn.StateOffline, h.state())
		h.env.Fire(conn.EnvOnline)
		h.settle()
		assert.Equal(t, 2, h.srv.Stats().Dials, "a fresh socket, without waiting for the check")
		assert.Equal(t, conn.StateConnected, h.state())
		hs := hellos(h.srv)
		require.Len(t, hs, 2)
		assert.Equal(t, map[string]int64{"room-1": 1}, hs[1].Resume, "the room resumed from its last seq")
		assert.True(t, h.logs.has("ConnectionStability: Replacing the socket that lived through the offline spell"))
	})

	t.Run("dials that failed while offline are no evidence that WebSocket is blocked", func(t *testing.T) {
		h := parallelHarness(t, withConfig(noJitter))
		h.env.Fire(conn.EnvOffline)
		h.loseNetwork()
		for range 3 {
			h.advance(h.retryIn())
		}
		require.Greater(t, h.srv.Stats().Dials, 2, "it kept trying while offline")
		// Back online, the first dial fails once more while HTTP works: one
		// failure is a blip, not a proxy.
		h.srv.Plug()
		h.srv.RefuseWebSocket(errors.New("a blip"))
		h.env.Fire(conn.EnvOnline)
		h.settle()
		h.srv.RefuseWebSocket(nil)
		h.advance(h.retryIn())
		assert.Equal(t, conn.StateConnected, h.state())
		assert.Equal(t, conn.TransportWebSocket, h.status().ConnectionType)
		assert.False(t, h.logs.has("🔄 ConnectionStability: Switching to polling fallback"))
		assert.NotContains(t, h.states(), conn.StatePolling)
	})

	t.Run("a socket that answered while the browser said offline is kept", func(t *testing.T) {
		h := parallelHarness(t)
		h.env.Fire(conn.EnvOffline)
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state(), "the pong proved the network works")
		h.env.Fire(conn.EnvOnline)
		h.settle()
		assert.Equal(t, 1, h.srv.Stats().Dials)
	})

	t.Run("online with a live socket keeps it", func(t *testing.T) {
		h := parallelHarness(t)
		pings := countFrames(h.srv, wire.TypePing)
		h.env.Fire(conn.EnvOnline)
		h.settle()
		assert.Equal(t, pings+1, countFrames(h.srv, wire.TypePing))
		h.advance(5 * time.Second)
		assert.Equal(t, 1, h.srv.Stats().Dials)
	})

	t.Run("offline at start is corrected by a probe that answers", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.env.SetStart(false, true) })
		assert.Equal(t, conn.StateConnected, h.state())
		assert.Equal(t, 1, h.srv.Stats().Pings)
	})

	t.Run("offline with no socket and a probe that fails stays offline", func(t *testing.T) {
		h := parallelHarness(t, unplugged)
		h.env.Fire(conn.EnvOffline)
		h.settle()
		h.advance(time.Minute)
		assert.Equal(t, conn.StateOffline, h.state())
		assert.Contains(t, h.states(), conn.StateOffline)
	})

	t.Run("offline with no socket and a probe that answers reconnects", func(t *testing.T) {
		h := parallelHarness(t, withConfig(noJitter))
		h.srv.Break(wire.CloseAbnormal, "")
		h.srv.HangDial(true)
		h.settle()
		h.advance(h.retryIn())
		h.advance(10 * time.Second) // the hanging dial times out
		h.srv.HangDial(false)
		h.env.Fire(conn.EnvOffline)
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("with network detection disabled the hints are ignored", func(t *testing.T) {
		h := parallelHarness(t, withConfig(func(c *conn.Config) { c.DisableNetworkDetection = true }), func(h *harness) { h.env.SetStart(false, true) })
		assert.Equal(t, conn.StateConnected, h.state())
		h.env.Fire(conn.EnvOffline)
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
		h.env.Fire(conn.EnvOnline)
		h.settle()
		assert.Equal(t, 0, h.srv.Stats().Pings)
	})
}
