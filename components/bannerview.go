package components

import (
	"fmt"
	"strings"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// BannerState is what the connection banner says, its data-state.
type BannerState string

// The banner's states. BannerRecovered is an addition to the DOM contract:
// the short "Back online" after an outage the banner showed.
const (
	BannerHidden       BannerState = ""
	BannerPoor         BannerState = "poor"
	BannerPolling      BannerState = "polling"
	BannerReconnecting BannerState = "reconnecting"
	BannerOffline      BannerState = "offline"
	BannerSuspended    BannerState = "suspended"
	BannerUnauthorized BannerState = "unauthorized"
	BannerRecovered    BannerState = "recovered"
	// Contract v2: the session (or its side of the booking) was revoked,
	// or it is over; the server's 401 says which.
	BannerRevoked        BannerState = "revoked"
	BannerSessionExpired BannerState = "session-expired"
	// BannerCancelled: the booking was cancelled; the chat is read-only.
	BannerCancelled BannerState = "cancelled"
)

// Disconnected reports whether st means there is no link at all, as opposed
// to a slow or limited one: only then do messages wait in the outbox and a
// "Back online" follow.
func (st BannerState) Disconnected() bool {
	switch st {
	case BannerReconnecting, BannerOffline, BannerSuspended, BannerUnauthorized, BannerRevoked, BannerSessionExpired:
		return true
	}
	return false
}

// BannerTone is the banner's colour, its CSS class conn-banner-<tone>: the
// colour repeats what the words say, never replaces them.
type BannerTone string

// The tones: red for no link, yellow for the polling fallback, orange for a
// slow link, green for "Back online".
const (
	ToneDown    BannerTone = "down"
	ToneLimited BannerTone = "limited"
	TonePoor    BannerTone = "poor"
	ToneOK      BannerTone = "ok"
)

// BannerView is what the banner shows for one status at one moment. The
// zero value is the hidden banner.
type BannerView struct {
	State BannerState
	Tone  BannerTone
	// Title says what is wrong in a few words ("You're offline").
	Title string
	// Detail says what it means for the user's messages; may be empty.
	Detail string
	// Countdown is "Reconnecting in 4 s" while a retry is scheduled; empty
	// when none is.
	Countdown string
	// RetryIn is the time to the next attempt rounded up to whole seconds,
	// as the countdown shows it; 0 when no attempt is scheduled.
	RetryIn time.Duration
	// Attempts is the number of failed attempts since the link was lost.
	Attempts int
	// RetryLabel names the retry button; empty means no button.
	RetryLabel string
	// Immediate skips the grace period: the state is a real error, not a
	// blip that may pass.
	Immediate bool
}

// Shown reports whether the banner is on screen.
func (v BannerView) Shown() bool { return v.State != BannerHidden }

// BannerFor maps a status to what the banner shows at now, before the grace
// period (the component applies that). Only a poor, polling or lost link
// shows: a good link, a closed service and the first connection attempt
// (the indicator already says "Connecting") keep the banner hidden.
func BannerFor(s conn.Status, now time.Time) BannerView {
	v := BannerView{Attempts: s.ReconnectAttempts, RetryLabel: "Retry now"}
	if s.NextRetryAt.After(now) {
		// Rounded up: "in 1 s" until the moment itself, never "in 0 s".
		v.RetryIn = s.NextRetryAt.Sub(now).Truncate(time.Second)
		if v.RetryIn < s.NextRetryAt.Sub(now) {
			v.RetryIn += time.Second
		}
		v.Countdown = fmt.Sprintf("Reconnecting in %d s", int(v.RetryIn/time.Second))
	}
	switch {
	case s.State == conn.StateUnauthorized:
		// Nothing retries until a new token: no countdown, and the button
		// asks the token source again.
		v.State, v.Tone, v.Immediate = BannerUnauthorized, ToneDown, true
		v.Title = "Your session expired"
		v.Detail = "Open the chat again from your booking link, or try again."
		v.Countdown, v.RetryIn, v.RetryLabel = "", 0, "Try again"
		// A session's server says why (contract v2): trying again would
		// not help, so no button, and the words say what will.
		switch {
		case strings.Contains(s.LastError, "server answered "+wire.CodeRevoked+":"):
			v.State, v.RetryLabel = BannerRevoked, ""
			v.Title = "Your access to this chat was revoked"
			v.Detail = "Ask the practice for a new link to your booking."
		case strings.Contains(s.LastError, "server answered "+wire.CodeSessionExpired+":"):
			v.State, v.RetryLabel = BannerSessionExpired, ""
			v.Title = "Your session is over"
			v.Detail = "Open the link from your booking confirmation again."
		}
	case s.State == conn.StateOffline:
		// The browser itself says the network is gone: no blip to wait
		// out, and people who just lost their signal want to know now.
		v.State, v.Tone, v.Immediate = BannerOffline, ToneDown, true
		v.Title = "You're offline"
		v.Detail = "Your messages will be sent when you're back online."
	case s.State == conn.StateSuspended:
		v.retrying(BannerSuspended, "Still disconnected",
			"We keep trying: your messages will be sent when you're back.")
	case s.State == conn.StateReconnecting,
		s.State == conn.StateConnecting && s.ReconnectAttempts > 0:
		v.retrying(BannerReconnecting, "Connection lost",
			"Your messages will be sent when the connection is back.")
	case s.State == conn.StatePolling,
		s.State == conn.StateConnected && s.ConnectionType == conn.TransportPolling:
		v.State, v.Tone = BannerPolling, ToneLimited
		v.Title = "Limited connection"
		v.Detail = "Messages may take a few seconds longer."
		v.Countdown, v.RetryIn, v.RetryLabel = "", 0, "Reconnect"
	case s.State == conn.StateConnected && s.Quality == conn.QualityPoor,
		// Slower than a second is worse than poor, but the link works. A
		// zero latency is no measurement yet, not a slow link.
		s.State == conn.StateConnected && s.Quality == conn.QualityDisconnected && s.Latency > 0:
		v.State, v.Tone = BannerPoor, TonePoor
		v.Title = "Slow connection"
		v.Detail = "Messages may take a moment (" + s.LatencyText() + ")."
		v.Countdown, v.RetryIn, v.RetryLabel = "", 0, "Reconnect"
	default:
		return BannerView{}
	}
	return v
}

// retrying makes v the view of a lost link that the service keeps trying:
// the countdown to the next attempt, or "Reconnecting…" while one runs.
func (v *BannerView) retrying(state BannerState, title, detail string) {
	v.State, v.Tone = state, ToneDown
	v.Title, v.Detail = title, detail
	if v.Countdown == "" {
		v.Countdown = "Reconnecting…"
	}
}

// recoveredView is the "Back online" line, with the number of messages
// that went out after the outage began, of those still leaving, and of the
// others' messages that came in meanwhile.
// away makes it a welcome back: the page was frozen or asleep, the link held.
func recoveredView(sent, sending, news int, away bool) BannerView {
	v := BannerView{State: BannerRecovered, Tone: ToneOK, Title: "Back online"}
	if away {
		v.Title = "Welcome back"
	}
	switch sent {
	case 0:
	case 1:
		v.Title += " · 1 message sent"
	default:
		v.Title += fmt.Sprintf(" · %d messages sent", sent)
	}
	if news > 0 {
		v.Title += fmt.Sprintf(" · %d new", news)
	}
	switch {
	case sending == 1 && sent == 0:
		v.Detail = "Sending 1 message…"
	case sending == 1:
		v.Detail = "Sending 1 more…"
	case sending > 1 && sent == 0:
		v.Detail = fmt.Sprintf("Sending %d messages…", sending)
	case sending > 1:
		v.Detail = fmt.Sprintf("Sending %d more…", sending)
	}
	return v
}

// countdownWake is how long until a countdown to next, read at now, shows
// another number: it changes on whole seconds before next, and at next
// itself it gives way to "Reconnecting…".
func countdownWake(next, now time.Time) time.Duration {
	left := next.Sub(now)
	if left <= 0 {
		return 0
	}
	if frac := left % time.Second; frac > 0 {
		return frac
	}
	return time.Second
}
