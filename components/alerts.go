package components

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// NotificationsToggle is the button that turns background alerts on and
// off ([data-testid=notifications-toggle], data-state on|off|blocked). It
// renders nothing where the browser has no notifications.
type NotificationsToggle struct {
	app.Compo

	// Source is the page's alerts; nil renders nothing.
	Source AlertsSource

	state string
	stop  func()
}

// OnMount follows the alerts' state; it runs on the UI goroutine.
func (t *NotificationsToggle) OnMount(ctx app.Context) {
	if t.Source == nil {
		return
	}
	t.stop = t.Source.WatchAlerts(func(s string) {
		ctx.Dispatch(func(app.Context) { t.state = s })
	})
	t.state = t.Source.AlertsState()
}

// OnDismount stops following the state.
func (t *NotificationsToggle) OnDismount() {
	if t.stop != nil {
		t.stop()
		t.stop = nil
	}
}

// Render draws the button.
func (t *NotificationsToggle) Render() app.UI {
	state := t.state
	if t.Source != nil && state == "" {
		state = t.Source.AlertsState()
	}
	if t.Source == nil || state == AlertsUnsupported || state == "" {
		return app.Span().Class("alerts-none")
	}
	label, title := "Alerts off", "Turn on alerts for new messages while tether is in the background"
	switch state {
	case AlertsOn:
		label, title = "Alerts on", "Turn off alerts for new messages"
	case AlertsBlocked:
		label, title = "Alerts blocked", "This browser blocks tether's notifications: allow them in the site settings"
	}
	return app.Button().
		Type("button").
		Class("alerts-toggle", "alerts-"+state).
		DataSet("testid", "notifications-toggle").
		DataSet("state", state).
		Aria("pressed", state == AlertsOn).
		Title(title).
		Disabled(state == AlertsBlocked).
		OnClick(func(ctx app.Context, e app.Event) { t.Source.ToggleAlerts() }).
		Text(label)
}
