package components_test

import (
	"html"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/components"
	"tether/conn"
	"tether/conn/conntest"
)

var (
	poorWebSocket = conn.Status{State: conn.StateConnected, IsConnected: true, Quality: conn.QualityPoor,
		Latency: 640 * time.Millisecond, ConnectionType: conn.TransportWebSocket}
	offline = conn.Status{State: conn.StateOffline, Quality: conn.QualityDisconnected,
		ConnectionType: conn.TransportNone, ReconnectAttempts: 2}
	unauthorized = conn.Status{State: conn.StateUnauthorized, Quality: conn.QualityDisconnected,
		ConnectionType: conn.TransportNone, LastError: "token expired"}
)

// retrying is reconnecting after attempts failures, the next try in d.
func retrying(attempts int, d time.Duration) conn.Status {
	s := reconnecting
	s.ReconnectAttempts = attempts
	s.NextRetryAt = t0.Add(d)
	return s
}

func TestBannerFor(t *testing.T) {
	t.Parallel()
	with := func(s conn.Status, f func(*conn.Status)) conn.Status { f(&s); return s }
	tests := []struct {
		name      string
		status    conn.Status
		state     components.BannerState
		tone      components.BannerTone
		title     string
		countdown string
		attempts  int
		retry     string
		immediate bool
	}{
		{name: "a zero status shows nothing", status: conn.Status{}},
		{name: "the first connection attempt is the indicator's to show", status: conn.InitialStatus()},
		{name: "an excellent websocket link shows nothing", status: excellent},
		{name: "a good websocket link shows nothing", status: good},
		{name: "a connected link not measured yet shows nothing",
			status: with(excellent, func(s *conn.Status) { s.Quality, s.Latency = conn.QualityDisconnected, 0 })},
		{name: "a closed service shows nothing",
			status: conn.Status{State: conn.StateClosed, Quality: conn.QualityDisconnected, ConnectionType: conn.TransportNone}},
		{name: "a poor websocket link is slow and orange", status: poorWebSocket,
			state: components.BannerPoor, tone: components.TonePoor, title: "Slow connection", retry: "Reconnect"},
		{name: "a link slower than a second is slow too",
			status: with(poorWebSocket, func(s *conn.Status) { s.Quality, s.Latency = conn.QualityDisconnected, 1500*time.Millisecond }),
			state:  components.BannerPoor, tone: components.TonePoor, title: "Slow connection", retry: "Reconnect"},
		{name: "polling with a good link is limited and yellow",
			status: with(poorPolling, func(s *conn.Status) { s.Quality, s.Latency = conn.QualityGood, 120*time.Millisecond }),
			state:  components.BannerPolling, tone: components.ToneLimited, title: "Limited connection", retry: "Reconnect"},
		{name: "polling with a poor link says limited, not slow", status: poorPolling,
			state: components.BannerPolling, tone: components.ToneLimited, title: "Limited connection", retry: "Reconnect"},
		{name: "a connected state over the polling transport is limited",
			status: with(good, func(s *conn.Status) { s.ConnectionType = conn.TransportPolling }),
			state:  components.BannerPolling, tone: components.ToneLimited, title: "Limited connection", retry: "Reconnect"},
		{name: "reconnecting counts down to the next attempt, rounded up", status: retrying(3, 3200*time.Millisecond),
			state: components.BannerReconnecting, tone: components.ToneDown, title: "Connection lost",
			countdown: "Reconnecting in 4 s", attempts: 3, retry: "Retry now"},
		{name: "a whole number of seconds is not rounded", status: retrying(1, 4*time.Second),
			state: components.BannerReconnecting, tone: components.ToneDown, title: "Connection lost",
			countdown: "Reconnecting in 4 s", attempts: 1, retry: "Retry now"},
		{name: "reconnecting with no attempt scheduled is reconnecting now", status: reconnecting,
			state: components.BannerReconnecting, tone: components.ToneDown, title: "Connection lost",
			countdown: "Reconnecting…", attempts: 3, retry: "Retry now"},
		{name: "a retry time in the past is reconnecting now", status: retrying(4, -time.Second),
			state: components.BannerReconnecting, tone: components.ToneDown, title: "Connection lost",
			countdown: "Reconnecting…", attempts: 4, retry: "Retry now"},
		{name: "connecting again after a drop is reconnecting",
			status: with(conn.InitialStatus(), func(s *conn.Status) { s.ReconnectAttempts = 2 }),
			state:  components.BannerReconnecting, tone: components.ToneDown, title: "Connection lost",
			countdown: "Reconnecting…", attempts: 2, retry: "Retry now"},
		{name: "offline says so at once, with no countdown when nothing is scheduled", status: offline,
			state: components.BannerOffline, tone: components.ToneDown, title: "You're offline",
			attempts: 2, retry: "Retry now", immediate: true},
		{name: "offline with a probe scheduled counts down to it",
			status: with(offline, func(s *conn.Status) { s.NextRetryAt = t0.Add(9500 * time.Millisecond) }),
			state:  components.BannerOffline, tone: components.ToneDown, title: "You're offline",
			countdown: "Reconnecting in 10 s", attempts: 2, retry: "Retry now", immediate: true},
		{name: "suspended promises the messages will go and counts down",
			status: with(retrying(10, 27*time.Second), func(s *conn.Status) { s.State = conn.StateSuspended }),
			state:  components.BannerSuspended, tone: components.ToneDown, title: "Still disconnected",
			countdown: "Reconnecting in 27 s", attempts: 10, retry: "Retry now"},
		{name: "an expired session shows at once, with no countdown",
			status: with(unauthorized, func(s *conn.Status) { s.NextRetryAt = t0.Add(5 * time.Second) }),
			state:  components.BannerUnauthorized, tone: components.ToneDown, title: "Your session expired",
			retry: "Try again", immediate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := components.BannerFor(tt.status, t0)
			assert.Equal(t, tt.state, v.State)
			assert.Equal(t, tt.state != components.BannerHidden, v.Shown())
			if !v.Shown() {
				assert.Equal(t, components.BannerView{}, v, "a hidden banner is the zero view")
				return
			}
			assert.Equal(t, tt.tone, v.Tone)
			assert.Equal(t, tt.title, v.Title)
			assert.Equal(t, tt.countdown, v.Countdown)
			assert.Equal(t, tt.attempts, v.Attempts)
			assert.Equal(t, tt.retry, v.RetryLabel)
			assert.Equal(t, tt.immediate, v.Immediate)
			assert.Equal(t, tt.state.Disconnected(), tt.tone == components.ToneDown, "red means no link")
		})
	}
}

func TestBannerDetailsSayWhatHappensToMessages(t *testing.T) {
	t.Parallel()
	suspended := reconnecting
	suspended.State = conn.StateSuspended
	assert.Contains(t, components.BannerFor(suspended, t0).Detail, "messages will be sent when you're back")
	assert.Contains(t, components.BannerFor(offline, t0).Detail, "sent when you're back online")
	assert.Contains(t, components.BannerFor(poorWebSocket, t0).Detail, "640 ms")
}

func TestBannerModel(t *testing.T) {
	t.Parallel()
	const grace, recovered = 2 * time.Second, 3 * time.Second
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	t.Run("a blip shorter than the grace never shows", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		v, wake := m.SetStatus(retrying(1, time.Second), at(0))
		assert.False(t, v.Shown())
		assert.Equal(t, grace, wake, "wakes when the grace ends")
		v, wake = m.SetStatus(excellent, at(1500*time.Millisecond))
		assert.False(t, v.Shown())
		assert.Zero(t, wake)
		v, _ = m.Advance(at(5 * time.Second))
		assert.False(t, v.Shown(), "no Back online for a banner never shown")
	})

	t.Run("a lost link shows after the grace and counts down each second", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		_, wake := m.SetStatus(retrying(1, 4500*time.Millisecond), at(0))
		require.Equal(t, grace, wake)
		v, wake := m.Advance(at(grace))
		assert.Equal(t, components.BannerReconnecting, v.State)
		assert.Equal(t, "Reconnecting in 3 s", v.Countdown)
		assert.Equal(t, 500*time.Millisecond, wake, "the next whole second")
		v, wake = m.Advance(at(2500 * time.Millisecond))
		assert.Equal(t, "Reconnecting in 2 s", v.Countdown)
		assert.Equal(t, time.Second, wake)
		v, wake = m.Advance(at(4500 * time.Millisecond))
		assert.Equal(t, "Reconnecting…", v.Countdown)
		assert.Zero(t, wake, "nothing to count down to")
	})

	t.Run("bad states within the grace keep the time it began", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetStatus(poorWebSocket, at(0))
		v, wake := m.SetStatus(reconnecting, at(1500*time.Millisecond))
		assert.False(t, v.Shown())
		assert.Equal(t, 500*time.Millisecond, wake)
		v, _ = m.Advance(at(grace))
		assert.Equal(t, components.BannerReconnecting, v.State)
	})

	t.Run("an expired session shows at once", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		v, wake := m.SetStatus(unauthorized, at(0))
		assert.Equal(t, components.BannerUnauthorized, v.State)
		assert.Zero(t, wake)
	})

	t.Run("a banner on screen moves to another bad state without a new grace", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetStatus(reconnecting, at(0))
		m.Advance(at(grace))
		v, _ := m.SetStatus(offline, at(3*time.Second))
		assert.Equal(t, components.BannerOffline, v.State)
		v, _ = m.SetStatus(poorPolling, at(4*time.Second))
		assert.Equal(t, components.BannerPolling, v.State)
	})

	t.Run("a slow link that gets better hides without Back online", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetStatus(poorWebSocket, at(0))
		v, _ := m.Advance(at(grace))
		require.Equal(t, components.BannerPoor, v.State)
		v, wake := m.SetStatus(good, at(10*time.Second))
		assert.False(t, v.Shown())
		assert.Zero(t, wake)
	})

	t.Run("back online counts the others' messages that came in meanwhile", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetArrivals(4, at(0)) // what came before the outage is no news
		m.SetOutbox([]conn.OutboxEntry{queued("a")}, at(0))
		m.SetStatus(reconnecting, at(0))
		m.Advance(at(grace))
		v, _ := m.SetStatus(excellent, at(10*time.Second))
		require.Equal(t, components.BannerRecovered, v.State)
		assert.Equal(t, "Back online", v.Title)
		// The replay of what was missed, then the queued message leaves.
		m.SetArrivals(5, at(10100*time.Millisecond))
		v, _ = m.SetArrivals(6, at(10200*time.Millisecond))
		assert.Equal(t, "Back online · 2 new", v.Title)
		v, _ = m.SetOutbox(nil, at(10300*time.Millisecond))
		assert.Equal(t, "Back online · 1 message sent · 2 new", v.Title)
		// The next outage counts afresh.
		m.Advance(at(20 * time.Second))
		m.SetStatus(reconnecting, at(21*time.Second))
		m.Advance(at(21*time.Second + grace))
		v, _ = m.SetStatus(excellent, at(30*time.Second))
		assert.Equal(t, "Back online", v.Title)
		v, _ = m.SetArrivals(7, at(30100*time.Millisecond))
		assert.Equal(t, "Back online · 1 new", v.Title)
	})

	t.Run("after a wake, what comes in is welcomed back though the link held", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		woke := func(n int) conn.Status { s := excellent; s.Wakes = n; return s }
		m.SetArrivals(2, at(0))
		m.SetStatus(woke(0), at(0))
		v, _ := m.SetStatus(woke(1), at(time.Minute))
		assert.False(t, v.Shown(), "a wake with nothing new says nothing")
		v, wake := m.SetArrivals(5, at(time.Minute+30*time.Millisecond))
		assert.Equal(t, components.BannerRecovered, v.State)
		assert.Equal(t, "Welcome back · 3 new", v.Title)
		assert.Equal(t, recovered, wake)
		v, _ = m.Advance(at(time.Minute + 30*time.Millisecond + recovered))
		assert.False(t, v.Shown())

		// What the socket held comes in just before the page hears that it
		// woke: it counts too.
		m.SetArrivals(8, at(90*time.Second))
		v, _ = m.SetStatus(woke(2), at(90*time.Second+50*time.Millisecond))
		assert.Equal(t, "Welcome back · 3 new", v.Title)
		m.Advance(at(100 * time.Second))

		// Past the window after a wake, a message is just a message.
		m.SetStatus(woke(3), at(2*time.Minute))
		v, _ = m.SetArrivals(9, at(2*time.Minute+11*time.Second))
		assert.False(t, v.Shown())
	})

	t.Run("back online counts the queued messages that went out", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetOutbox([]conn.OutboxEntry{queued("a")}, at(0))
		m.SetStatus(reconnecting, at(0))
		// b is written during the outage; c fails and stays.
		m.SetOutbox([]conn.OutboxEntry{queued("a"), queued("b")}, at(time.Second))
		v, _ := m.SetOutbox([]conn.OutboxEntry{queued("a"), queued("b"), failed("c")}, at(grace))
		require.Equal(t, components.BannerReconnecting, v.State)

		v, wake := m.SetStatus(excellent, at(10*time.Second))
		assert.Equal(t, components.BannerRecovered, v.State)
		assert.Equal(t, components.ToneOK, v.Tone)
		assert.Equal(t, "Back online", v.Title, "the outbox has not flushed yet")
		assert.Equal(t, "Sending 2 messages…", v.Detail, "c failed: it waits for the user")
		assert.Equal(t, 30*time.Second, wake, "only the outbox or the end of the hold changes it")

		// d is written after the link is back: not news.
		v, _ = m.SetOutbox([]conn.OutboxEntry{queued("b"), failed("c"), queued("d")}, at(10500*time.Millisecond))
		assert.Equal(t, "Back online · 1 message sent", v.Title)
		assert.Equal(t, "Sending 1 more…", v.Detail)
		v, wake = m.SetOutbox([]conn.OutboxEntry{failed("c")}, at(11*time.Second))
		assert.Equal(t, "Back online · 2 messages sent", v.Title)
		assert.Empty(t, v.Detail)
		assert.Equal(t, recovered, wake, "Back online stays its full time after the last message went")

		v, _ = m.Advance(at(13 * time.Second))
		assert.Equal(t, "Back online · 2 messages sent", v.Title)
		v, wake = m.Advance(at(14 * time.Second))
		assert.False(t, v.Shown())
		assert.Zero(t, wake)
	})

	t.Run("back online waits for a slow flush, and for no more than the hold", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetStatus(offline, at(0))
		m.SetOutbox([]conn.OutboxEntry{queued("a"), queued("b")}, at(time.Second))
		m.Advance(at(grace))
		m.SetStatus(good, at(10*time.Second))

		v, _ := m.Advance(at(19 * time.Second))
		assert.Equal(t, components.BannerRecovered, v.State, "still sending after the usual 3 s")
		assert.Equal(t, "Sending 2 messages…", v.Detail)
		v, wake := m.SetOutbox(nil, at(20*time.Second))
		assert.Equal(t, "Back online · 2 messages sent", v.Title)
		assert.Equal(t, recovered, wake)

		m = components.NewBannerModel(grace, recovered)
		m.SetStatus(offline, at(0))
		m.SetOutbox([]conn.OutboxEntry{queued("a")}, at(time.Second))
		m.Advance(at(grace))
		_, wake = m.SetStatus(good, at(10*time.Second))
		require.Equal(t, 30*time.Second, wake)
		v, wake = m.Advance(at(40 * time.Second))
		assert.False(t, v.Shown(), "a message pending this long shows it on itself")
		assert.Zero(t, wake)
	})

	t.Run("back on a slow link says Back online first, then that it is slow", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetStatus(offline, at(0))
		m.SetOutbox([]conn.OutboxEntry{queued("a")}, at(time.Second))
		m.Advance(at(grace))
		v, _ := m.SetStatus(poorWebSocket, at(10*time.Second))
		assert.Equal(t, components.BannerRecovered, v.State, "the link works, if slowly")
		v, wake := m.SetOutbox(nil, at(11*time.Second))
		assert.Equal(t, "Back online · 1 message sent", v.Title)
		assert.Equal(t, recovered, wake)
		v, _ = m.Advance(at(14 * time.Second))
		assert.Equal(t, components.BannerPoor, v.State, "still slow: said at once, the banner is on screen")
		v, _ = m.SetStatus(good, at(20*time.Second))
		assert.False(t, v.Shown(), "no second Back online")
	})

	t.Run("a failed message that is retried and goes counts", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetOutbox([]conn.OutboxEntry{failed("a")}, at(0))
		m.SetStatus(offline, at(0))
		m.Advance(at(grace))
		m.SetOutbox([]conn.OutboxEntry{queued("a")}, at(3*time.Second))
		m.SetStatus(good, at(4*time.Second))
		v, _ := m.SetOutbox(nil, at(5*time.Second))
		assert.Equal(t, "Back online · 1 message sent", v.Title)
	})

	t.Run("down again while saying Back online shows at once and counts afresh", func(t *testing.T) {
		t.Parallel()
		m := components.NewBannerModel(grace, recovered)
		m.SetOutbox([]conn.OutboxEntry{queued("a")}, at(0))
		m.SetStatus(reconnecting, at(0))
		m.Advance(at(grace))
		m.SetStatus(excellent, at(5*time.Second))
		v, _ := m.SetOutbox(nil, at(5500*time.Millisecond))
		require.Equal(t, "Back online · 1 message sent", v.Title)

		v, _ = m.SetStatus(offline, at(6*time.Second))
		assert.Equal(t, components.BannerOffline, v.State, "no grace: the banner is on screen")
		v, _ = m.SetStatus(good, at(8*time.Second))
		assert.Equal(t, "Back online", v.Title)
	})
}

// attrRe matches name="value" in go-app's HTML.
func attrRe(name, value string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(name + `="` + value + `"`))
}

func TestBannerRendersEachView(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status conn.Status
		class  string
	}{
		{"reconnecting is red", retrying(3, 3200*time.Millisecond), "conn-banner-down"},
		{"offline is red", offline, "conn-banner-down"},
		{"an expired session is red", unauthorized, "conn-banner-down"},
		{"polling is yellow", poorPolling, "conn-banner-limited"},
		{"a slow link is orange", poorWebSocket, "conn-banner-poor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := components.BannerFor(tt.status, t0)
			out := app.HTMLString(components.BannerUI(v))
			assert.Regexp(t, attrRe("data-testid", "connection-banner"), out)
			assert.Regexp(t, attrRe("data-state", string(v.State)), out)
			assert.Regexp(t, attrRe("role", "status"), out)
			assert.Regexp(t, attrRe("aria-live", "polite"), out)
			assert.Contains(t, out, tt.class)
			assert.Regexp(t, `data-testid="reconnect-attempts"[^>]*>`+
				strconv.Itoa(tt.status.ReconnectAttempts)+`</span>`, out)
			assert.Regexp(t, attrRe("data-testid", "retry-button"), out)
			assert.Contains(t, out, html.EscapeString(v.Title))
			if v.Countdown != "" {
				assert.Contains(t, out, v.Countdown)
			} else {
				assert.NotContains(t, out, "retry-countdown")
			}
		})
	}

	out := app.HTMLString(components.BannerUI(components.BannerView{
		State: components.BannerRecovered, Tone: components.ToneOK, Title: "Back online · 3 messages sent",
	}))
	assert.Regexp(t, attrRe("data-state", "recovered"), out)
	assert.Contains(t, out, "Back online · 3 messages sent")
	assert.NotContains(t, out, "retry-button", "nothing to retry once back")
}

func TestBannerComponentWaitsForTheGrace(t *testing.T) {
	clock := conntest.NewClock(t0)
	src := conntest.NewStatusSource(retrying(3, 4*time.Second))
	b := &components.ConnectionStatusBanner{Source: src, Clock: clock}
	html := render(t, b)
	assert.NotContains(t, html, "connection-banner", "hidden during the grace")
	assert.Contains(t, html, "conn-banner-slot", "the slot stays so the page does not jump")
}

func TestBannerComponentShowsAnExpiredSessionAtOnce(t *testing.T) {
	clock := conntest.NewClock(t0)
	src := conntest.NewStatusSource(unauthorized)
	html := render(t, &components.ConnectionStatusBanner{Source: src, Clock: clock})
	assert.Regexp(t, attrRe("data-testid", "connection-banner"), html)
	assert.Regexp(t, attrRe("data-state", "unauthorized"), html)
	assert.Contains(t, html, "Your session expired")
	assert.NotContains(t, html, "retry-countdown")
}

func TestBannerComponentHiddenWhileTheLinkIsGood(t *testing.T) {
	for _, s := range []conn.Status{excellent, good, conn.InitialStatus(), {}} {
		clock := conntest.NewClock(t0)
		html := render(t, &components.ConnectionStatusBanner{
			Source: conntest.NewStatusSource(s), Clock: clock,
		})
		assert.NotContains(t, html, "connection-banner", "status %+v", s)
	}
}
