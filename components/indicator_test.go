package components_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/components"
	"tether/conn"
)

var (
	excellent = conn.Status{State: conn.StateConnected, IsConnected: true, Quality: conn.QualityExcellent,
		Latency: 42 * time.Millisecond, ConnectionType: conn.TransportWebSocket}
	good = conn.Status{State: conn.StateConnected, IsConnected: true, Quality: conn.QualityGood,
		Latency: 150 * time.Millisecond, ConnectionType: conn.TransportWebSocket}
	poorPolling = conn.Status{State: conn.StatePolling, IsConnected: true, Quality: conn.QualityPoor,
		Latency: 640 * time.Millisecond, ConnectionType: conn.TransportPolling}
	reconnecting = conn.Status{State: conn.StateReconnecting, Quality: conn.QualityDisconnected,
		ConnectionType: conn.TransportNone, ReconnectAttempts: 3}
)

// render mounts c in a test engine (natively: OnInit runs, OnMount does not)
// and returns its HTML.
func render(t *testing.T, c app.Composer) string {
	t.Helper()
	load(t, c)
	return app.HTMLString(c)
}

func TestIndicatorRendersTheStatus(t *testing.T) {
	tests := []struct {
		name      string
		status    conn.Status
		quality   string
		transport string
		latency   string
		lit       int
		label     string
	}{
		{"an excellent websocket link lights three dots", excellent,
			"excellent", "websocket", "42 ms", 3, "Connection excellent, 42 ms"},
		{"a good link lights two dots", good,
			"good", "websocket", "150 ms", 2, "Connection good, 150 ms"},
		{"a poor polling link says it is limited", poorPolling,
			"poor", "polling", "640 ms", 1, "Limited connection (polling), poor, 640 ms"},
		{"a lost link counts its attempts and lights nothing", reconnecting,
			"disconnected", "none", "–", 0, "Disconnected, reconnecting (attempt 3)"},
		{"before the first connection it says connecting", conn.InitialStatus(),
			"disconnected", "none", "–", 0, "Connecting"},
		{"a zero status still renders a disconnected indicator", conn.Status{},
			"disconnected", "none", "–", 0, "Connecting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &components.ConnectionStatusIndicator{Source: components.FixedStatus(tt.status)}
			html := render(t, c)
			// The tree itself: indicator → div → latency span → text, and
			// the three dots, lit first.
			require.NoError(t, app.Match(app.Text(tt.latency), c, 0, 1, 0))
			for i := range 3 {
				require.NoError(t, app.Match(
					app.Span().Class("conn-dot").DataSet("on", strconv.FormatBool(i < tt.lit)), c, 0, 2, i))
			}
			assert.Contains(t, html, `data-testid="connection-indicator"`)
			assert.Contains(t, html, `data-quality="`+tt.quality+`"`)
			assert.Contains(t, html, `data-transport="`+tt.transport+`"`)
			assert.Contains(t, html, `aria-label="`+tt.label+`"`)
			assert.Regexp(t, `<span [^>]*data-testid="latency"[^>]*>`+tt.latency+`</span>`, html)
			// go-app's HTML encoder writes the value "true" as a bare
			// attribute (the browser DOM gets data-on="true"), so lit dots
			// are the ones that are not "false".
			assert.Equal(t, 3, strings.Count(html, `data-on`), "three dots")
			assert.Equal(t, 3-tt.lit, strings.Count(html, `data-on="false"`), "dark dots")
			assert.Contains(t, html, `data-testid="reconnect-button"`)
			assert.NotContains(t, html, "http://", "icons are inline, never remote")
		})
	}
}

func TestIndicatorIconFollowsQuality(t *testing.T) {
	// Colour is never the only signal: the icon's shape changes too.
	wifi := render(t, &components.ConnectionStatusIndicator{Source: components.FixedStatus(excellent)})
	warning := render(t, &components.ConnectionStatusIndicator{Source: components.FixedStatus(poorPolling)})
	offline := render(t, &components.ConnectionStatusIndicator{Source: components.FixedStatus(reconnecting)})
	icon := func(html string) string {
		start := strings.Index(html, "<svg")
		end := strings.Index(html, "</svg>")
		require.True(t, start >= 0 && end > start, "no icon in %s", html)
		return html[start:end]
	}
	assert.NotEqual(t, icon(wifi), icon(warning))
	assert.NotEqual(t, icon(wifi), icon(offline))
	assert.NotEqual(t, icon(warning), icon(offline))
	assert.Contains(t, wifi, "quality-excellent")
	assert.Contains(t, offline, "quality-disconnected")
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status conn.Status
		want   string
	}{
		{"connected without a measurement omits the latency",
			conn.Status{State: conn.StateConnected, Quality: conn.QualityGood}, "Connection good"},
		{"reconnecting before the first attempt",
			conn.Status{State: conn.StateReconnecting}, "Disconnected, reconnecting"},
		{"offline", conn.Status{State: conn.StateOffline}, "Offline: no network"},
		{"suspended promises to keep trying",
			conn.Status{State: conn.StateSuspended}, "Disconnected for a while, still retrying"},
		{"unauthorized", conn.Status{State: conn.StateUnauthorized}, "Your session expired"},
		{"closed", conn.Status{State: conn.StateClosed}, "Disconnected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, components.Describe(tt.status))
		})
	}
}

func TestChatHeaderHoldsTheIndicator(t *testing.T) {
	html := render(t, &components.ChatHeader{
		Title:    "Booking chat",
		Subtitle: "Booking 42",
		Source:   components.FixedStatus(excellent),
	})
	assert.Contains(t, html, `data-testid="chat-header"`)
	assert.Contains(t, html, "Booking chat")
	assert.Contains(t, html, "Booking 42")
	header := strings.Index(html, `data-testid="chat-header"`)
	indicator := strings.Index(html, `data-testid="connection-indicator"`)
	assert.Greater(t, indicator, header, "the indicator sits inside the header")
	assert.Contains(t, html, `data-quality="excellent"`)
}
