package components

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/conn"
)

// The banner's default timings.
const (
	// DefaultBannerGrace is how long a bad link must last before the banner
	// shows, so that a blip does not flicker.
	DefaultBannerGrace = 2 * time.Second
	// DefaultRecoveredFor is how long "Back online" stays.
	DefaultRecoveredFor = 3 * time.Second
)

// ConnectionStatusBanner is the strip under the chat header that says, in
// words, that the link is slow, limited or lost, what happens to the user's
// messages, and when the next attempt is; after an outage it says "Back
// online" and how many queued messages went out. It stays hidden while the
// link is good, and for the first two seconds of a bad link.
//
// Its timers are one-shot and re-armed on the UI goroutine, never a loop in
// ctx.Async: go-app waits for every Async goroutine before it finishes a
// server-side render or a test engine's ConsumeAll.
type ConnectionStatusBanner struct {
	app.Compo

	// Source feeds the status; it must be set before the component mounts.
	Source StatusSource
	// Outbox, when set, lets "Back online" say how many messages went out;
	// like Source, it is read when the component mounts.
	Outbox OutboxSource
	// Grace is how long a bad link lasts before the banner shows;
	// DefaultBannerGrace when zero. An expired session shows at once.
	Grace time.Duration
	// RecoveredFor is how long "Back online" stays; DefaultRecoveredFor
	// when zero.
	RecoveredFor time.Duration
	// Arrivals, when set, lets "Back online" say how many messages of
	// others came in during the outage ("· 2 new"); read when it mounts.
	Arrivals ArrivalSource
	// Cancelled says the chat's booking was cancelled (contract v2): the
	// banner says so while the link itself is fine.
	Cancelled bool
	// Clock tells the time and runs the banner's timer; conn.SystemClock
	// when nil, the clock the service runs on. Tests inject a
	// conntest.Clock.
	Clock conn.Clock

	model        bannerModel
	stopStatus   func()
	stopOutbox   func()
	stopArrivals func()
	timer        conn.Timer
}

// OnInit reads the current status and outbox. It runs natively too, so a
// pre-rendered page shows what the banner would: hidden during the grace.
func (b *ConnectionStatusBanner) OnInit() {
	b.model.status = b.status()
	if b.Outbox != nil {
		b.model.setOutbox(b.Outbox.Outbox())
	}
	if b.Arrivals != nil {
		b.model.setArrivals(b.Arrivals.Arrivals())
	}
	b.configure()
	b.model.advance(b.clock().Now())
}

// OnMount starts watching the source and the outbox; it runs on the UI
// goroutine. Their updates reach the component only through ctx.Dispatch.
func (b *ConnectionStatusBanner) OnMount(ctx app.Context) {
	if b.Source != nil {
		b.stopStatus = b.Source.Watch(func(s conn.Status) {
			ctx.Dispatch(func(ctx app.Context) {
				b.model.status = s
				b.refresh(ctx)
			})
		})
	}
	if b.Outbox != nil {
		b.stopOutbox = b.Outbox.WatchOutbox(func(entries []conn.OutboxEntry) {
			ctx.Dispatch(func(ctx app.Context) {
				b.model.setOutbox(entries)
				b.refresh(ctx)
			})
		})
		b.model.setOutbox(b.Outbox.Outbox())
	}
	if b.Arrivals != nil {
		b.stopArrivals = b.Arrivals.WatchArrivals(func(n int) {
			ctx.Dispatch(func(ctx app.Context) {
				b.model.setArrivals(n)
				b.refresh(ctx)
			})
		})
		b.model.setArrivals(b.Arrivals.Arrivals())
	}
	// A change between OnInit and Watch would otherwise be missed.
	b.model.status = b.status()
	b.refresh(ctx)
}

// OnUpdate takes new timings from the parent; it runs on the UI goroutine.
func (b *ConnectionStatusBanner) OnUpdate(ctx app.Context) {
	b.refresh(ctx)
}

// OnDismount stops watching and the pending timer; it runs on the UI
// goroutine.
func (b *ConnectionStatusBanner) OnDismount() {
	for _, stop := range []*func(){&b.stopStatus, &b.stopOutbox, &b.stopArrivals} {
		if *stop != nil {
			(*stop)()
			*stop = nil
		}
	}
	b.stopTimer()
}

// stopTimer cancels the pending timer, if any; it runs on the UI goroutine.
func (b *ConnectionStatusBanner) stopTimer() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// refresh advances the model to now and re-arms the one timer for its next
// change. It runs on the UI goroutine; the timer only dispatches.
func (b *ConnectionStatusBanner) refresh(ctx app.Context) {
	b.stopTimer()
	b.configure()
	wake := b.model.advance(b.clock().Now())
	if wake <= 0 {
		return
	}
	if b.Clock == nil && app.IsServer {
		// A page rendered on the server never redraws: no timer.
		return
	}
	// The timer fires off the UI goroutine, so it only dispatches; a timer
	// that fires after being stopped only refreshes once more.
	b.timer = b.clock().AfterFunc(wake, func() { ctx.Dispatch(b.refresh) })
}

func (b *ConnectionStatusBanner) configure() {
	b.model.grace = b.Grace
	if b.model.grace <= 0 {
		b.model.grace = DefaultBannerGrace
	}
	b.model.recoveredFor = b.RecoveredFor
	if b.model.recoveredFor <= 0 {
		b.model.recoveredFor = DefaultRecoveredFor
	}
}

func (b *ConnectionStatusBanner) status() conn.Status {
	if b.Source == nil {
		return conn.InitialStatus()
	}
	return b.Source.Status()
}

func (b *ConnectionStatusBanner) clock() conn.Clock {
	if b.Clock == nil {
		return conn.SystemClock{}
	}
	return b.Clock
}

// Render draws the banner, or an empty slot while it is hidden so the page
// does not jump when it appears.
func (b *ConnectionStatusBanner) Render() app.UI {
	v := b.model.shown
	if b.Cancelled && !v.State.Disconnected() {
		// A lost link outranks it: messages typed now wait for it.
		v = cancelledView
	}
	return app.Div().Class("conn-banner-slot").Body(
		app.If(v.Shown(), func() app.UI {
			return bannerUI(v, b.onRetry)
		}),
	)
}

// cancelledView is the banner of a cancelled booking's chat.
var cancelledView = BannerView{
	State: BannerCancelled, Tone: ToneLimited,
	Title:  "This booking was cancelled",
	Detail: "Its chat stays here to read; new messages cannot be sent.",
}

func (b *ConnectionStatusBanner) onRetry(ctx app.Context, e app.Event) {
	if b.Source != nil {
		b.Source.ForceReconnect()
	}
}

// bannerUI draws v. The countdown is hidden from screen readers: a number
// that changes every second in a live region would talk over everything.
func bannerUI(v BannerView, onRetry app.EventHandler) app.UI {
	icon := iconWifiOff
	switch v.Tone {
	case ToneLimited, TonePoor:
		icon = iconWarning
	case ToneOK:
		icon = iconWifi
	}
	return app.Div().
		Class("conn-banner", "conn-banner-"+string(v.Tone)).
		DataSet("testid", "connection-banner").
		DataSet("state", string(v.State)).
		Role("status").
		Aria("live", "polite").
		Body(
			app.Span().Class("conn-banner-icon").Body(app.Raw(icon)),
			app.Div().Class("conn-banner-text").Body(
				app.Strong().Class("conn-banner-title").Text(v.Title),
				app.If(v.Detail != "", func() app.UI {
					return app.Span().Class("conn-banner-detail").Text(v.Detail)
				}),
				app.If(v.Countdown != "", func() app.UI {
					return app.Span().
						Class("conn-banner-countdown").
						DataSet("testid", "retry-countdown").
						Aria("hidden", "true").
						Text(v.Countdown)
				}),
			),
			app.If(v.State != BannerRecovered, func() app.UI {
				// Always in the tree while the link is bad (the DOM
				// contract); the words show once there was an attempt.
				return app.Span().
					Class("conn-banner-attempts", "attempts-"+strconv.FormatBool(v.Attempts > 0)).
					Body(
						app.Text("Attempt "),
						app.Span().DataSet("testid", "reconnect-attempts").Text(strconv.Itoa(v.Attempts)),
					)
			}),
			app.If(v.RetryLabel != "", func() app.UI {
				return app.Button().
					Type("button").
					Class("conn-banner-retry").
					DataSet("testid", "retry-button").
					OnClick(onRetry).
					Body(app.Raw(iconReconnect), app.Span().Text(v.RetryLabel))
			}),
		)
}
