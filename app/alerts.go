package app

import (
	"sync"
	"unicode/utf8"

	"tether/components"
)

// Notifier is what background alerts need of the browser: its
// notifications, the page's visibility, and a place to count unread (the
// title, the installed app's badge). The browser entry supplies one.
type Notifier interface {
	// Supported reports whether the browser has notifications at all.
	Supported() bool
	// Permission is the browser's answer so far: "granted", "denied" or
	// "default" (not asked).
	Permission() string
	// RequestPermission asks the user and returns the new permission; it
	// blocks until they answer.
	RequestPermission() string
	// Notify shows a notification; one with the same tag replaces it. A
	// click on it brings the page to the front and calls onClick.
	Notify(title, body, tag string, onClick func())
	// SetCount shows n unread messages in the title ("(2) tether") and on
	// the installed app's badge; 0 clears both.
	SetCount(n int)
	// Hidden reports whether the page is hidden.
	Hidden() bool
	// WatchVisibility calls fn with Hidden after each change until stop.
	WatchVisibility(fn func(hidden bool)) (stop func())
	// Preference is the user's choice kept by the browser (on, and
	// whether there is one); SetPreference keeps a new one.
	Preference() (on, set bool)
	SetPreference(on bool)
}

// Alerts are a page's background alerts (DESIGN §7): while the page is
// hidden, each message of the other party counts in the title and the
// badge, and, once the user turned them on, raises a notification (one per
// room, replaced, not stacked). Showing the page clears the count.
type Alerts struct {
	n     Notifier
	store *Store

	mu       sync.Mutex
	seen     int // the store's arrivals counted so far
	unseen   int // arrivals while hidden
	hidden   bool
	watchers map[int]func(string)
	next     int
	stops    []func()
	open     func(room string)
}

// SetOpen makes a click on a room's notification call open with the room
// (the inbox opens that chat); without it the click only brings the page
// to the front.
func (a *Alerts) SetOpen(open func(room string)) {
	a.mu.Lock()
	a.open = open
	a.mu.Unlock()
}

var _ components.AlertsSource = (*Alerts)(nil)

// NewAlerts starts the alerts of store's messages; Close stops them.
func NewAlerts(n Notifier, store *Store) *Alerts {
	a := &Alerts{n: n, store: store, watchers: map[int]func(string){}}
	a.seen = store.Arrivals()
	a.hidden = n.Hidden()
	a.stops = append(a.stops, n.WatchVisibility(a.onVisibility), store.WatchArrivals(a.onArrivals))
	return a
}

// Close stops the alerts and clears the count.
func (a *Alerts) Close() {
	a.mu.Lock()
	stops := a.stops
	a.stops = nil
	a.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	a.n.SetCount(0)
}

// AlertsState says whether notifications are on, off, blocked by the
// browser, or unsupported.
func (a *Alerts) AlertsState() string {
	switch {
	case !a.n.Supported():
		return components.AlertsUnsupported
	case a.n.Permission() == "denied":
		return components.AlertsBlocked
	}
	on, _ := a.n.Preference()
	if on && a.n.Permission() == "granted" {
		return components.AlertsOn
	}
	return components.AlertsOff
}

// ToggleAlerts turns notifications off, or on, asking the browser's
// permission first when it has not been given. It returns at once; the
// watchers hear the outcome.
func (a *Alerts) ToggleAlerts() {
	go func() {
		switch a.AlertsState() {
		case components.AlertsOn:
			a.n.SetPreference(false)
		case components.AlertsOff:
			if a.n.Permission() == "granted" || a.n.RequestPermission() == "granted" {
				a.n.SetPreference(true)
			}
		}
		a.tell()
	}()
}

// WatchAlerts calls fn with the state after each change until stop.
func (a *Alerts) WatchAlerts(fn func(string)) (stop func()) {
	a.mu.Lock()
	id := a.next
	a.next++
	a.watchers[id] = fn
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		delete(a.watchers, id)
		a.mu.Unlock()
	}
}

func (a *Alerts) tell() {
	state := a.AlertsState()
	a.mu.Lock()
	fns := make([]func(string), 0, len(a.watchers))
	for _, fn := range a.watchers {
		fns = append(fns, fn)
	}
	a.mu.Unlock()
	for _, fn := range fns {
		fn(state)
	}
}

func (a *Alerts) onVisibility(hidden bool) {
	a.mu.Lock()
	a.hidden = hidden
	clearCount := !hidden && a.unseen > 0
	if !hidden {
		a.unseen = 0
	}
	a.mu.Unlock()
	if clearCount {
		a.n.SetCount(0)
	}
}

// notificationBody bounds the text of a notification.
const notificationBody = 140

func (a *Alerts) onArrivals(n int) {
	a.mu.Lock()
	fresh := n - a.seen
	a.seen = n
	if !a.hidden || fresh <= 0 {
		a.mu.Unlock()
		return
	}
	a.unseen += fresh
	unseen := a.unseen
	a.mu.Unlock()
	a.n.SetCount(unseen)
	if a.AlertsState() != components.AlertsOn {
		return
	}
	msg, ok := a.store.LastArrival()
	if !ok {
		return
	}
	title := msg.Sender.Name
	if title == "" {
		title = "New message"
	}
	body := msg.Body
	if utf8.RuneCountInString(body) > notificationBody {
		body = string([]rune(body)[:notificationBody-1]) + "…"
	}
	room := msg.Room
	a.n.Notify(title, body, room, func() {
		a.mu.Lock()
		open := a.open
		a.mu.Unlock()
		if open != nil {
			open(room)
		}
	})
}
