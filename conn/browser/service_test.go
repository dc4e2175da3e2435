//go:build js && wasm

package browser_test

import (
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/browser"
	"tether/conn/conntest"
	"tether/conn/wire"
)

// startService runs the stability service on the browser ports against
// base, as the app does, with a dev token of user in room from the real
// server.
func startService(t *testing.T, base, room, user string) (*conn.Service, *logs) {
	t.Helper()
	l := &logs{}
	tokens := &browser.Tokens{
		Scope: "test-" + user,
		Fetch: browser.DevTokens(&browser.HTTP{BaseURL: serverURL(t)}, url.Values{"room": {room}, "user": {user}, "name": {user}, "role": {wire.RoleCustomer}}),
	}
	ports, _, err := browser.NewPorts(browser.Options{BaseURL: base, Tokens: tokens, User: user, Logger: l.logger()})
	require.NoError(t, err)
	s := conn.New(conn.Config{}, ports)
	t.Cleanup(s.Close)
	return s, l
}

func waitState(t *testing.T, s *conn.Service, l *logs, want conn.State) {
	t.Helper()
	conntest.Eventually(t, func() bool { return s.Status().State == want }, "state %s, want %s; log:\n%s", s.Status().State, want, l)
}

func TestServiceConnectsAndDeliversThroughTheBrowserPorts(t *testing.T) {
	room, user := name("room"), name("casey")
	s, l := startService(t, serverURL(t), room, user)
	var mu sync.Mutex
	var got []string
	unsubscribe := s.SubscribeToMessages(room, func(m wire.Message) {
		mu.Lock()
		got = append(got, m.Body)
		mu.Unlock()
	}, func(err error) { t.Errorf("room error: %v", err) })
	defer unsubscribe()
	waitState(t, s, l, conn.StateConnected)
	assert.Equal(t, conn.TransportWebSocket, s.Status().ConnectionType)

	_, err := s.Send(room, "over the real socket")
	require.NoError(t, err)
	conntest.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(got, []string{"over the real socket"})
	}, "the message did not come back; log:\n%s", l)
	conntest.Eventually(t, func() bool { return len(s.Outbox()) == 0 }, "the send was not acked")
}

func TestEnvironmentEventsOnWindowAndDocument(t *testing.T) {
	var mu sync.Mutex
	var seen []conn.EnvEvent
	stop := browser.Env{}.Watch(func(ev conn.EnvEvent) {
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
	})
	defer stop()

	assert.True(t, browser.Env{}.Online(), "navigator.onLine at start")
	assert.True(t, browser.Env{}.Visible(), "the test page is visible")

	dispatch(t, "window", "offline")
	dispatch(t, "window", "online")
	setVisibility(t, "hidden")
	dispatch(t, "document", "visibilitychange")
	setVisibility(t, "visible")
	dispatch(t, "document", "visibilitychange")
	dispatch(t, "document", "freeze")
	dispatch(t, "document", "resume")
	pageTransition(t, "pageshow", false) // a normal load: nothing to do
	pageTransition(t, "pageshow", true)  // back from the back-forward cache

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []conn.EnvEvent{
		conn.EnvOffline, conn.EnvOnline, conn.EnvHidden, conn.EnvVisible,
		conn.EnvFreeze, conn.EnvResume, conn.EnvPageShow,
	}, seen)
}

func TestAWakeFromSleepIsReportedAsAResume(t *testing.T) {
	woke := make(chan struct{}, 1)
	stop := browser.Env{}.Watch(func(ev conn.EnvEvent) {
		if ev == conn.EnvResume {
			select {
			case woke <- struct{}{}:
			default:
			}
		}
	})
	defer stop()
	time.Sleep(1500 * time.Millisecond) // a first look at both clocks
	// A sleep of ten minutes, as the page sees it after the wake: the wall
	// clock went on, performance.now() did not.
	evalString(t, `(() => { const now = Date.now; window.__realDateNow = now; Date.now = () => now() + 600000; return ""; })()`)
	defer evalString(t, `(() => { Date.now = window.__realDateNow; return ""; })()`)
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("no resume after the wall clock ran ten minutes ahead")
	}
}

func TestOfflineAndOnlineEventsReachTheService(t *testing.T) {
	room, user := name("room"), name("casey")
	s, l := startService(t, serverURL(t), room, user)
	waitState(t, s, l, conn.StateConnected)

	dispatch(t, "window", "offline")
	assert.Equal(t, conn.StateOffline, s.Status().State, "the hint shows at once")
	// The network is in fact fine here: the check's pong proves it.
	waitState(t, s, l, conn.StateConnected)
	assert.True(t, l.has("Network offline (browser) - checking"), l.String())

	dispatch(t, "window", "online")
	conntest.Eventually(t, func() bool { return l.has("Network online - checking the connection") }, "online did not reach the service:\n%s", l)
}

func TestTheOutboxSurvivesAReloadOfTheService(t *testing.T) {
	room, user := name("room"), name("casey")
	key := browser.StorageKeyFor(user)
	t.Cleanup(func() { removeItem(t, key) })

	// The first page has no server to reach: the message waits in the
	// outbox, and the outbox in localStorage.
	first, l := startService(t, "http://127.0.0.1:1", room, user)
	clientID, err := first.Send(room, "typed while offline")
	require.NoError(t, err)
	conntest.Eventually(t, func() bool {
		snap, err := browser.Storage{Key: key}.Load()
		return err == nil && len(snap.Outbox) == 1 && snap.Outbox[0].ClientID == clientID
	}, "the outbox was not saved; log:\n%s", l)
	first.Close()

	// The reloaded page reaches the server and sends it, once.
	second, l := startService(t, serverURL(t), room, user)
	assert.Len(t, second.Outbox(), 1, "the outbox came back from localStorage")
	var mu sync.Mutex
	var got []wire.Message
	defer second.SubscribeToMessages(room, func(m wire.Message) {
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}, nil)()
	conntest.Eventually(t, func() bool { return len(second.Outbox()) == 0 }, "the stored message was not sent; log:\n%s", l)
	conntest.Eventually(t, func() bool {
		snap, err := browser.Storage{Key: key}.Load()
		return err == nil && len(snap.Outbox) == 0 && snap.LastSeq[room] > 0
	}, "the emptied outbox and the room's last seq were not saved")
	time.Sleep(300 * time.Millisecond) // a repeat would arrive by now
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1, "sent exactly once")
	assert.Equal(t, clientID, got[0].ClientID)
	assert.Equal(t, "typed while offline", got[0].Body)
}

func TestStorageRoundTripAndCorruptData(t *testing.T) {
	key := browser.StorageKeyFor(name("user"))
	t.Cleanup(func() { removeItem(t, key) })
	st := browser.Storage{Key: key}
	snap, err := st.Load()
	require.NoError(t, err)
	assert.Empty(t, snap.Outbox, "nothing stored yet")

	want := conn.Snapshot{
		Outbox:  []conn.OutboxEntry{{ClientID: "c1", Room: "r1", Body: "<b>not html</b>", Created: time.UnixMilli(1_764_000_000_000).UTC()}},
		LastSeq: map[string]int64{"r1": 41},
	}
	require.NoError(t, st.Save(want))
	got, err := st.Load()
	require.NoError(t, err)
	assert.Equal(t, want, got)

	ls, err := safejs.Global().Get("localStorage")
	require.NoError(t, err)
	_, err = ls.Call("setItem", key, "{not json")
	require.NoError(t, err)
	_, err = st.Load()
	assert.Error(t, err, "a corrupt snapshot is an error, not a panic")
}

func TestTheTokenMovesFromTheFragmentToSessionStorage(t *testing.T) {
	hist, err := safejs.Global().Get("history")
	require.NoError(t, err)
	loc, err := safejs.Global().Get("location")
	require.NoError(t, err)
	pathV, _ := loc.Get("pathname")
	path, _ := pathV.String()
	_, err = hist.Call("replaceState", nil, "", path+"?x=1#token=abc.def.ghi&lang=en")
	require.NoError(t, err)

	tokens := &browser.Tokens{Scope: name("scope")}
	tok, err := tokens.Token(testContext(t))
	require.NoError(t, err)
	assert.Equal(t, "abc.def.ghi", tok)
	hashV, _ := loc.Get("hash")
	hash, _ := hashV.String()
	assert.Equal(t, "#lang=en", hash, "the token left the address bar, the rest stayed")

	// A reload finds it in sessionStorage.
	again := &browser.Tokens{Scope: tokens.Scope}
	tok, err = again.Token(testContext(t))
	require.NoError(t, err)
	assert.Equal(t, "abc.def.ghi", tok)

	_, err = again.Refresh(testContext(t))
	assert.ErrorIs(t, err, browser.ErrNoToken, "without a way to fetch one, a refused token cannot be replaced")
	_, err = hist.Call("replaceState", nil, "", path)
	require.NoError(t, err)
}

func TestWindowTetherForTheConsole(t *testing.T) {
	room, user := name("room"), name("casey")
	s, l := startService(t, serverURL(t), room, user)
	remove, err := browser.Expose(s)
	require.NoError(t, err)
	defer remove()
	waitState(t, s, l, conn.StateConnected)

	assert.Equal(t, "connected", evalString(t, "window.tether.status().state"))
	assert.Equal(t, "websocket", evalString(t, "JSON.parse(window.tether.status()).connectionType"),
		"status() also reads as its JSON text")
	assert.Equal(t, "isConnected,quality", evalString(t, "Object.keys(window.tether.status()).filter(k => k === 'isConnected' || k === 'quality').join()"))

	assert.Equal(t, "0", evalString(t, "String(window.tether.outbox().length)"), "nothing waits")

	evalString(t, "String(window.tether.reconnect())")
	conntest.Eventually(t, func() bool { return l.has("Reconnect requested") }, "reconnect() did not reach the service:\n%s", l)
	waitState(t, s, l, conn.StateConnected)
}

// Every listener and callback the ports add ends with the service: after
// Close, none is held and an event reaches nobody.
func TestNothingOutlivesClose(t *testing.T) {
	base := browser.LiveFuncs()
	room, user := name("room"), name("casey")
	s, l := startService(t, serverURL(t), room, user)
	remove, err := browser.Expose(s)
	require.NoError(t, err)
	s.SubscribeToMessages(room, func(wire.Message) {}, nil)
	waitState(t, s, l, conn.StateConnected)
	_, err = s.Send(room, "one")
	require.NoError(t, err)
	conntest.Eventually(t, func() bool { return len(s.Outbox()) == 0 }, "not acked")
	require.Greater(t, browser.LiveFuncs(), base, "the socket and the page events hold listeners while running")

	s.Close()
	remove()
	conntest.Eventually(t, func() bool { return browser.LiveFuncs() == base },
		"%d callbacks outlive Close", browser.LiveFuncs()-base)
	before := l.String()
	dispatch(t, "window", "offline")
	dispatch(t, "window", "online")
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, before, l.String(), "a closed service hears no event")
	assert.Equal(t, "undefined", evalString(t, "typeof window.tether"))
}

func setVisibility(t *testing.T, state string) {
	t.Helper()
	evalString(t, `Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "`+state+`"}), ""`)
	if state == "visible" {
		evalString(t, `delete document.visibilityState, ""`)
	}
}

func pageTransition(t *testing.T, name string, persisted bool) {
	t.Helper()
	p := "false"
	if persisted {
		p = "true"
	}
	evalString(t, `window.dispatchEvent(new PageTransitionEvent("`+name+`", {persisted: `+p+`})), ""`)
}

func removeItem(t *testing.T, key string) {
	ls, err := safejs.Global().Get("localStorage")
	require.NoError(t, err)
	ls.Call("removeItem", key)
}

// evalString evaluates a JavaScript expression in the page and returns it
// as a string.
func evalString(t *testing.T, expr string) string {
	t.Helper()
	v, err := safejs.Global().Call("eval", expr)
	require.NoError(t, err, expr)
	s, err := v.String()
	require.NoError(t, err)
	return s
}
