package components

import (
	"fmt"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/conn"
)

// ConnectionStatusIndicator shows the link's quality in the chat header: a
// coloured icon, the latency, three quality dots and a reconnect button,
// with an aria-label in words so colour is never the only signal.
type ConnectionStatusIndicator struct {
	app.Compo

	// Source feeds the status; it must be set before the component mounts.
	Source StatusSource

	status conn.Status
	stop   func()
}

// OnInit reads the current status. It runs natively too, so the server's
// pre-rendered page already shows the truth.
func (c *ConnectionStatusIndicator) OnInit() {
	c.status = c.Source.Status()
}

// OnMount starts watching the source; it runs on the UI goroutine. Updates
// reach the component only through ctx.Dispatch.
func (c *ConnectionStatusIndicator) OnMount(ctx app.Context) {
	c.stop = c.Source.Watch(func(s conn.Status) {
		ctx.Dispatch(func(app.Context) { c.status = s })
	})
	// A change between OnInit and Watch would otherwise be missed.
	c.status = c.Source.Status()
}

// OnDismount stops watching; it runs on the UI goroutine.
func (c *ConnectionStatusIndicator) OnDismount() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
}

// Render draws the indicator for the current status.
func (c *ConnectionStatusIndicator) Render() app.UI {
	s := c.status
	q := s.Quality
	if q == "" {
		q = conn.QualityDisconnected
	}
	transport := s.ConnectionType
	if transport == "" {
		transport = conn.TransportNone
	}
	lit := q.Bars()
	return app.Div().
		Class("conn-indicator", "quality-"+string(q)).
		DataSet("testid", "connection-indicator").
		DataSet("quality", string(q)).
		DataSet("transport", string(transport)).
		DataSet("state", string(s.State)).
		Role("group").
		Aria("label", Describe(s)).
		Title(Describe(s)).
		Body(
			app.Span().Class("conn-icon").Body(app.Raw(qualityIcon(q))),
			app.Span().
				Class("conn-latency").
				DataSet("testid", "latency").
				Text(s.LatencyText()),
			app.Span().
				Class("conn-dots").
				DataSet("testid", "quality-dots").
				Aria("hidden", "true").
				Body(dots(lit)...),
			app.Button().
				Type("button").
				Class("conn-reconnect").
				DataSet("testid", "reconnect-button").
				Aria("label", "Reconnect now").
				Title("Reconnect now").
				OnClick(c.onReconnect).
				Body(app.Raw(iconReconnect)),
		)
}

// dots are the three quality dots, the first lit of them lit.
func dots(lit int) []app.UI {
	out := make([]app.UI, 3)
	for i := range out {
		out[i] = app.Span().Class("conn-dot").DataSet("on", strconv.FormatBool(i < lit))
	}
	return out
}

func (c *ConnectionStatusIndicator) onReconnect(ctx app.Context, e app.Event) {
	c.Source.ForceReconnect()
}

// Describe says in words what the indicator shows, for its aria-label and
// tooltip.
func Describe(s conn.Status) string {
	switch s.State {
	case conn.StateConnected, conn.StatePolling:
		how := "Connection " + string(s.Quality)
		if s.State == conn.StatePolling || s.ConnectionType == conn.TransportPolling {
			how = "Limited connection (polling), " + string(s.Quality)
		}
		if s.Latency > 0 {
			how += ", " + s.LatencyText()
		}
		return how
	case conn.StateReconnecting:
		if s.ReconnectAttempts > 0 {
			return fmt.Sprintf("Disconnected, reconnecting (attempt %d)", s.ReconnectAttempts)
		}
		return "Disconnected, reconnecting"
	case conn.StateOffline:
		return "Offline: no network"
	case conn.StateSuspended:
		return "Disconnected for a while, still retrying"
	case conn.StateUnauthorized:
		return "Your session expired"
	case conn.StateClosed:
		return "Disconnected"
	default:
		return "Connecting"
	}
}
