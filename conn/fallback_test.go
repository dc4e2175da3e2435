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

func TestFallback(t *testing.T) {
	t.Parallel()

	t.Run("WebSocket failing twice while ping answers switches to polling at once", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, refuseWebSocket)
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
		t.Parallel()
		h := newHarness(t, unplugged, withConfig(func(c *conn.Config) { c.MaxReconnectAttempts = 3 }))
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
		t.Parallel()
		h := newHarness(t, unplugged, withConfig(func(c *conn.Config) { c.MaxReconnectAttempts = 2 }))
		for h.state() != conn.StateSuspended {
			h.advance(h.retryIn())
		}
		h.srv.Plug()
		h.srv.RefuseWebSocket(errRefused)
		h.advance(h.retryIn())
		assert.Equal(t, conn.StatePolling, h.state())
	})

	t.Run("with fallback polling disabled it suspends without probing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, refuseWebSocket, withConfig(func(c *conn.Config) {
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
		t.Parallel()
		h := newHarness(t, func(h *harness) { h.srv.HangDial(true) }, withConfig(func(c *conn.Config) { c.DisableFallbackPolling = true }))
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
		t.Parallel()
		h := newHarness(t, refuseWebSocket, func(h *harness) { h.srv.HangHTTP(true) },
			withConfig(func(c *conn.Config) { c.MaxReconnectAttempts = 2 }))
		h.advance(h.retryIn()) // second failure: the probe hangs
		require.EqualValues(t, 1, h.srv.Blocked())
		h.advance(10 * time.Second)
		h.eventuallyUnblocked("the hanging probe was cancelled")
		assert.NotEqual(t, conn.StatePolling, h.state())
	})

	t.Run("a silent outage is no blocked WebSocket: back on WebSocket within 5 s of the link", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
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
		t.Parallel()
		h := newHarness(t)
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
		t.Parallel()
		h := newHarness(t, func(h *harness) { h.srv.Latency(time.Second) }) // each welcome is a second away
		h.srv.Break(wire.CloseServerError, "")
		h.settle()
		require.Equal(t, conn.StateReconnecting, h.state())
		h.advance(h.retryIn())
		h.srv.Break(wire.CloseServerError, "")
		h.settle()
		assert.Equal(t, conn.StatePolling, h.state(), "two failures in a row and ping answers")
	})
}
