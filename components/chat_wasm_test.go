//go:build js && wasm

package components_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/components"
	"tether/conn/conntest"
)

// These mount the banner, the message list and the composer in the real
// DOM of headless Chromium, where OnMount runs and events are real.

// exists reports whether selector matches an element of the document.
func exists(selector string) bool {
	return app.Window().Get("document").Call("querySelector", selector).Truthy()
}

func text(t *testing.T, selector string) string {
	t.Helper()
	return query(t, selector).Get("textContent").String()
}

// event makes a DOM event of kind (Event, KeyboardEvent …) with init.
func event(kind, name string, init map[string]any) app.Value {
	return app.Window().Get(kind).New(name, init)
}

func TestBannerInTheDOMWaitsCountsDownAndRecovers(t *testing.T) {
	clock := conntest.NewClock(t0)
	src := conntest.NewStatusSource(excellent, queued("a"))
	e, _ := mount(t, &components.ConnectionStatusBanner{
		Source: src, Outbox: src, Clock: clock,
	})
	const banner = `[data-testid="connection-banner"]`
	require.Equal(t, 1, src.Watchers())
	require.Equal(t, 1, src.OutboxWatchers())
	assert.False(t, exists(banner), "a good link shows no banner")

	src.SetStatus(retrying(3, 4500*time.Millisecond))
	e.ConsumeAll()
	assert.False(t, exists(banner), "not during the grace")
	src.SetOutbox(queued("a"), queued("b"))
	e.ConsumeAll()

	clock.Advance(2 * time.Second)
	e.ConsumeAll()
	require.True(t, exists(banner), "shown once the grace is over")
	assert.Equal(t, "reconnecting", attr(t, banner, "data-state"))
	assert.Equal(t, "status", attr(t, banner, "role"))
	assert.Equal(t, "polite", attr(t, banner, "aria-live"))
	assert.Equal(t, "3", text(t, `[data-testid="reconnect-attempts"]`))
	assert.Equal(t, "Reconnecting in 3 s", text(t, `[data-testid="retry-countdown"]`))

	clock.Advance(time.Second)
	e.ConsumeAll()
	assert.Equal(t, "Reconnecting in 2 s", text(t, `[data-testid="retry-countdown"]`), "the countdown ticks")

	query(t, `[data-testid="retry-button"]`).Call("click")
	e.ConsumeAll()
	assert.Equal(t, 1, src.ForcedReconnects(), "retry forces a reconnect")

	src.SetStatus(offline)
	e.ConsumeAll()
	assert.Equal(t, "offline", attr(t, banner, "data-state"))
	assert.Contains(t, text(t, banner), "You're offline")

	src.SetStatus(excellent)
	e.ConsumeAll()
	src.SetOutbox()
	e.ConsumeAll()
	assert.Equal(t, "recovered", attr(t, banner, "data-state"))
	assert.Contains(t, text(t, banner), "Back online · 2 messages sent")

	clock.Advance(3 * time.Second)
	e.ConsumeAll()
	assert.False(t, exists(banner), "Back online goes after 3 s")
	assert.Zero(t, clock.Pending(), "no timer left while hidden")
}

func TestBannerInTheDOMLetsGoWhenDismounted(t *testing.T) {
	clock := conntest.NewClock(t0)
	src := conntest.NewStatusSource(retrying(1, 10*time.Second))
	e, _ := mount(t, &components.ConnectionStatusBanner{
		Source: src, Outbox: src, Clock: clock,
	})
	require.Equal(t, 1, clock.Pending(), "the grace timer")

	require.NoError(t, e.Load(&components.Composer{}))
	e.ConsumeAll()
	assert.Zero(t, src.Watchers())
	assert.Zero(t, src.OutboxWatchers())
	assert.Zero(t, clock.Pending())
}

func TestMessageListInTheDOM(t *testing.T) {
	var retried, discarded []string
	list := &components.MessageList{
		Items:     chat(),
		OnRetry:   func(id string) { retried = append(retried, id) },
		OnDiscard: func(id string) { discarded = append(discarded, id) },
	}
	e, root := mount(t, list)

	msgs := root.Call("querySelectorAll", `[data-testid="message"]`)
	require.Equal(t, 4, msgs.Length())
	want := []struct{ clientID, seq, state, mine string }{
		{"c-1", "7", "sent", "true"},
		{"c-2", "", "pending", "true"},
		{"c-3", "", "failed", "true"},
		{"t-9", "8", "sent", "false"},
	}
	for i, w := range want {
		m := msgs.Index(i)
		assert.Equal(t, w.clientID, m.Call("getAttribute", "data-client-id").String(), "message %d", i)
		require.True(t, m.Call("hasAttribute", "data-seq").Bool(), "message %d has a data-seq", i)
		assert.Equal(t, w.seq, m.Call("getAttribute", "data-seq").String(), "message %d", i)
		assert.Equal(t, w.state, m.Call("getAttribute", "data-state").String(), "message %d", i)
		assert.Equal(t, w.mine, m.Call("getAttribute", "data-mine").String(), "message %d", i)
	}

	body := msgs.Index(3).Call("querySelector", `[data-testid="message-body"]`)
	assert.Equal(t, xss, body.Get("textContent").String(), "the body is text")
	assert.False(t, root.Call("querySelector", "img").Truthy(), "no element came from a body")

	query(t, `[data-testid="message-retry"]`).Call("click")
	e.ConsumeAll()
	query(t, `[data-testid="message-discard"]`).Call("click")
	e.ConsumeAll()
	assert.Equal(t, []string{"c-3"}, retried)
	assert.Equal(t, []string{"c-3"}, discarded)

	// The ack arrives: the pending message gets its seq, and a new failed
	// message takes the retry button's place at another index.
	items := chat()
	items[1].Seq, items[1].State = 9, components.MessageSent
	items[2].State, items[2].Seq = components.MessageSent, 10
	items = append(items, components.MessageView{ClientID: "c-4", State: components.MessageFailed, Mine: true, Body: "again"})
	require.NoError(t, e.Load(&components.MessageList{Items: items, OnRetry: list.OnRetry, OnDiscard: list.OnDiscard}))
	e.ConsumeAll()
	msgs = root.Call("querySelectorAll", `[data-testid="message"]`)
	require.Equal(t, 5, msgs.Length())
	assert.Equal(t, "9", msgs.Index(1).Call("getAttribute", "data-seq").String())
	assert.Equal(t, "sent", msgs.Index(1).Call("getAttribute", "data-state").String())
	assert.Equal(t, "", msgs.Index(4).Call("getAttribute", "data-seq").String())
	query(t, `[data-testid="message-retry"]`).Call("click")
	e.ConsumeAll()
	assert.Equal(t, []string{"c-3", "c-4"}, retried, "the button acts on the message it shows now")
}

func TestMessageListAsksForOlderHistory(t *testing.T) {
	older := 0
	e, _ := mount(t, &components.MessageList{Items: chat(), HasOlder: true, OnLoadOlder: func() { older++ }})
	query(t, `[data-testid="load-older"]`).Call("click")
	e.ConsumeAll()
	assert.Equal(t, 1, older)
}

// conversation is n messages of the other side, numbered from first.
func conversation(first, n int) []components.MessageView {
	items := make([]components.MessageView, n)
	for i := range items {
		seq := int64(first + i)
		items[i] = components.MessageView{
			Seq: seq, State: components.MessageSent, SenderName: "Taylor",
			Body: "Message " + strconv.FormatInt(seq, 10), SentAt: t0,
		}
	}
	return items
}

func TestMessageListFollowsTheNewestAndKeepsItsPlace(t *testing.T) {
	older := 0
	props := func(items []components.MessageView) *components.MessageList {
		return &components.MessageList{Items: items, HasOlder: true, OnLoadOlder: func() { older++ }}
	}
	items := conversation(11, 20)
	e, root := mount(t, props(items))
	// No stylesheet here: make the list a small scroller, as app.css does.
	root.Get("style").Set("height", "120px")
	root.Get("style").Set("overflowY", "auto")
	scrollTop := func() float64 { return root.Get("scrollTop").Float() }
	atBottom := func() bool {
		return scrollTop()+root.Get("clientHeight").Float() >= root.Get("scrollHeight").Float()-1
	}
	update := func(items []components.MessageView) {
		require.NoError(t, e.Load(props(items)))
		e.ConsumeAll()
	}

	root.Set("scrollTop", root.Get("scrollHeight"))
	items = append(items, conversation(31, 1)...)
	update(items)
	assert.True(t, atBottom(), "a new message is followed while the reader is at the bottom")

	root.Set("scrollTop", 40)
	items = append(items, conversation(32, 1)...)
	update(items)
	assert.Equal(t, 40.0, scrollTop(), "a reader up in the history stays there")

	items = append(items, components.MessageView{ClientID: "c-1", State: components.MessagePending, Mine: true, Body: "mine"})
	update(items)
	assert.True(t, atBottom(), "the reader's own message is always shown")

	root.Set("scrollTop", 60)
	fromBottom := root.Get("scrollHeight").Float() - scrollTop()
	items = append(conversation(1, 10), items...)
	update(items)
	assert.InDelta(t, fromBottom, root.Get("scrollHeight").Float()-scrollTop(), 1,
		"older history above keeps the reader's message in place")

	scrollEvent := func() {
		root.Call("dispatchEvent", event("Event", "scroll", nil))
		e.ConsumeAll()
	}
	root.Set("scrollTop", 0)
	scrollEvent()
	scrollEvent()
	assert.Equal(t, 1, older, "reaching the top asks for older history once")
	update(append(conversation(-9, 10), items...))
	root.Set("scrollTop", 0)
	scrollEvent()
	assert.Equal(t, 2, older, "a new page lets the top ask again")

	// Setting scrollTop queued real scroll events for the next frame:
	// dismount the list so that they find no listener of an exited program.
	require.NoError(t, e.Load(&components.Composer{}))
	e.ConsumeAll()
}

func TestMessageListOpensOnTheNewest(t *testing.T) {
	// A page's list mounts empty and the history comes after: the reader
	// sees its newest message.
	e, root := mount(t, &components.MessageList{})
	root.Get("style").Set("height", "120px")
	root.Get("style").Set("overflowY", "auto")
	require.NoError(t, e.Load(&components.MessageList{Items: conversation(1, 20)}))
	e.ConsumeAll()
	assert.Greater(t, root.Get("scrollTop").Float(), 0.0)
	assert.InDelta(t, root.Get("scrollHeight").Float(), root.Get("scrollTop").Float()+root.Get("clientHeight").Float(), 1,
		"the newest message is in view")

	require.NoError(t, e.Load(&components.Composer{}))
	e.ConsumeAll()
}

func TestComposerInTheDOM(t *testing.T) {
	rec := &sendRecorder{}
	e, _ := mount(t, &components.Composer{OnSend: rec.send})
	input := query(t, `[data-testid="composer-input"]`)
	assert.Equal(t, "4000", input.Call("getAttribute", "maxlength").String())
	assert.False(t, input.Get("disabled").Bool())

	typeIn := func(s string) {
		input.Set("value", s)
		input.Call("dispatchEvent", event("Event", "input", map[string]any{"bubbles": true}))
		e.ConsumeAll()
	}
	// key presses k in the input and reports whether its default action
	// (a new line) still happens. In the app, go-app's engine goroutine runs
	// the handler before control goes back to JavaScript (Go's wasm runtime
	// lets the goroutines it woke run first), so preventDefault is in time;
	// a goroutine consuming the dispatch plays that part here.
	key := func(k string, shift bool) (notPrevented bool) {
		ev := event("KeyboardEvent", "keydown", map[string]any{
			"key": k, "shiftKey": shift, "bubbles": true, "cancelable": true,
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.ConsumeNext()
		}()
		notPrevented = input.Call("dispatchEvent", ev).Bool()
		<-done
		e.ConsumeAll()
		return notPrevented
	}

	typeIn("  first line")
	assert.True(t, key("Enter", true), "Shift+Enter keeps its new line")
	assert.Empty(t, rec.bodies)

	typeIn("  first line\nsecond line  ")
	assert.False(t, key("Enter", false), "Enter inserts no new line")
	assert.Equal(t, []string{"first line\nsecond line"}, rec.bodies, "Enter sends the trimmed text")
	assert.Equal(t, "", input.Get("value").String(), "the input is cleared")

	key("Enter", false)
	assert.Len(t, rec.bodies, 1, "an empty input sends nothing")

	rec.err = errors.New("service closed")
	typeIn("kept")
	query(t, `[data-testid="composer-send"]`).Call("click")
	e.ConsumeAll()
	assert.Equal(t, "kept", input.Get("value").String(), "the text stays on an error")
	assert.Contains(t, text(t, `[data-testid="composer-error"]`), "service closed")

	rec.err = nil
	typeIn("kept!")
	assert.False(t, exists(`[data-testid="composer-error"]`), "editing clears the old error")
	query(t, `[data-testid="composer-send"]`).Call("click")
	e.ConsumeAll()
	assert.Equal(t, []string{"first line\nsecond line", "kept", "kept!"}, rec.bodies)
	assert.Equal(t, "", input.Get("value").String())
}
