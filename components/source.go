// Package components holds tether's go-app components: the chat header, the
// connection status indicator and banner, the message list and the composer.
//
// Components never touch syscall/js or safejs: they compile natively, where
// go-app stubs the browser, so the server pre-renders them and tests run them
// without a browser.
package components

import "tether/conn"

// StatusSource is what the connection components read: the stability
// service in the browser, or a fixed status where there is no connection
// (server pre-rendering).
type StatusSource interface {
	// Status returns the current status.
	Status() conn.Status
	// Watch calls fn after each change until stop is called. fn must not
	// block: components hand the value to ctx.Dispatch and return.
	Watch(fn func(conn.Status)) (stop func())
	// ForceReconnect drops the wait before the next attempt and reconnects now.
	ForceReconnect()
}

// FixedStatus is a StatusSource whose status never changes.
type FixedStatus conn.Status

var _ StatusSource = FixedStatus{}

// Status returns the fixed status.
func (f FixedStatus) Status() conn.Status { return conn.Status(f) }

// Watch never calls fn: the status never changes.
func (f FixedStatus) Watch(func(conn.Status)) (stop func()) { return func() {} }

// ForceReconnect does nothing: there is no connection to renew.
func (f FixedStatus) ForceReconnect() {}

// OutboxSource is what the banner reads to count the messages that went out
// while the link was down: conn.Service has exactly these methods.
type OutboxSource interface {
	// Outbox returns the messages not acked yet, pending or failed.
	Outbox() []conn.OutboxEntry
	// WatchOutbox calls fn after each change until stop is called. fn must
	// not block: components hand the value to ctx.Dispatch and return.
	WatchOutbox(fn func([]conn.OutboxEntry)) (stop func())
}

var _ OutboxSource = (*conn.Service)(nil)

// AlertsSource is the page's background alerts (DESIGN §7): notifications
// of the other party's messages while the page is hidden, which the user
// turns on with NotificationsToggle.
type AlertsSource interface {
	// AlertsState is AlertsOn, AlertsOff, AlertsBlocked (the browser's
	// permission was refused: only its settings can undo that) or
	// AlertsUnsupported.
	AlertsState() string
	// ToggleAlerts turns them on (asking for the permission when needed)
	// or off; it must run on a click, where browsers allow the question.
	ToggleAlerts()
	// WatchAlerts calls fn with the state after each change until stop is
	// called. fn must not block.
	WatchAlerts(fn func(string)) (stop func())
}

// The states of AlertsSource.
const (
	AlertsOn          = "on"
	AlertsOff         = "off"
	AlertsBlocked     = "blocked"
	AlertsUnsupported = "unsupported"
)

// ArrivalSource counts the messages of others that reached the page live
// (delivered or replayed, not read from history), so that "Back online"
// can say how many came in while the link was down.
type ArrivalSource interface {
	// Arrivals returns the count so far; it only grows.
	Arrivals() int
	// WatchArrivals calls fn with the count after each change until stop is
	// called. fn must not block.
	WatchArrivals(fn func(int)) (stop func())
}
