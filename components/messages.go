package components

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// MessageState is where a message stands, its data-state.
type MessageState string

// The states of a message: waiting in the outbox, stored by the server (it
// has a seq), or given up on until the user retries.
const (
	// MessagePending is the user's message that the server has not stored
	// yet, or whose stored copy has not come back yet (it has no seq).
	MessagePending MessageState = "pending"
	// MessageSent is a message the server stored: it has its seq.
	MessageSent MessageState = "sent"
	// MessageFailed is the user's message that the outbox gave up on; its
	// Retry button sends it again, Discard drops it.
	MessageFailed MessageState = "failed"
)

// MessageView is one message as the list shows it. The chat store (package
// app) builds it, so that the page hands the store's view to the list as is.
type MessageView struct {
	// ClientID is the sender's id for the message; it ties a pending
	// message to its ack. Messages of others may have one too.
	ClientID string
	// Seq is the server's number for the message; 0 until acked.
	Seq   int64
	State MessageState
	// Mine is true for the messages of the user reading the list.
	Mine       bool
	SenderName string
	// Body is shown as text, never as HTML.
	Body   string
	SentAt time.Time
	// Error says why a failed message failed.
	Error string
	// New marks a message of others that came in while the link was down
	// (data-new="true"); the first of them carries the "New messages" line.
	New      bool
	FirstNew bool
}

// key tells messages apart across renders, so the list knows whether a new
// one arrived at the bottom or older ones at the top.
func (m MessageView) key() string {
	if m.ClientID != "" {
		return "c:" + m.ClientID
	}
	return "s:" + strconv.FormatInt(m.Seq, 10)
}

// How close to an edge of the list counts as being there, in CSS pixels.
const (
	nearBottom = 64
	nearTop    = 48
)

// MessageList shows a chat's messages, oldest first, and follows the newest
// while the reader is at the bottom. Scrolling to the top, or the "Load
// older messages" button, asks for older history. The parent renders it
// again with new Items; the list keeps no copy of the chat.
type MessageList struct {
	app.Compo

	// Items are the messages, oldest first.
	Items []MessageView
	// HasOlder shows the "Load older messages" button, and lets scrolling to
	// the top ask for more.
	HasOlder bool
	// LoadingOlder says that a page of history is on its way.
	LoadingOlder bool
	// EmptyText replaces "No messages yet." when there are none.
	EmptyText string
	// OnRetry sends a failed message again.
	OnRetry func(clientID string)
	// OnDiscard drops a failed message; without it there is no Discard
	// button.
	OnDiscard func(clientID string)
	// OnLoadOlder asks for the page of history before the first item. It is
	// called once per scroll to the top until the items or LoadingOlder
	// change.
	OnLoadOlder func()

	// What the last render showed, and where the reader was before this
	// update: read and written on the UI goroutine only.
	newest, oldest string
	wasLoading     bool
	atBottom       bool
	fromBottom     float64
	askedOlder     bool
}

// OnMount shows the newest message; it runs on the UI goroutine.
func (l *MessageList) OnMount(ctx app.Context) {
	l.atBottom = true
	l.newest, l.oldest = "", ""
	ctx.Defer(l.afterRender)
}

// OnUpdate notes where the reader is before the new items are drawn, so
// the list can follow the newest message or keep its place when older ones
// are added above. It runs on the UI goroutine.
func (l *MessageList) OnUpdate(ctx app.Context) {
	if l.newest == "" {
		// Nothing shown, nothing to keep in place: reading the scroll
		// would make the browser lay the page out now, mid-script, which
		// while a page opens is most of a frame.
		l.atBottom, l.fromBottom = true, 0
	} else {
		el := l.JSValue()
		height := el.Get("scrollHeight").Float()
		top := el.Get("scrollTop").Float()
		l.atBottom = height-top-el.Get("clientHeight").Float() < nearBottom
		l.fromBottom = height - top
	}
	if l.wasLoading && !l.LoadingOlder || !l.HasOlder {
		// The page came, or failed: scrolling up may ask again.
		l.askedOlder = false
	}
	l.wasLoading = l.LoadingOlder
	ctx.Defer(l.afterRender)
}

// afterRender scrolls once the DOM shows the new items; it runs on the UI
// goroutine. Natively the browser calls are no-ops.
func (l *MessageList) afterRender(ctx app.Context) {
	newest, oldest, mine := "", "", false
	if n := len(l.Items); n > 0 {
		newest, oldest, mine = l.Items[n-1].key(), l.Items[0].key(), l.Items[n-1].Mine
	}
	el := l.JSValue()
	switch {
	case newest != l.newest && (l.atBottom || mine):
		// A new message: follow it if the reader was at the bottom, and
		// always when the reader sent it.
		el.Set("scrollTop", el.Get("scrollHeight"))
	case oldest != l.oldest && newest == l.newest:
		// Older history above: keep the message the reader was on in place.
		el.Set("scrollTop", el.Get("scrollHeight").Float()-l.fromBottom)
	}
	if oldest != l.oldest {
		l.askedOlder = false
	}
	l.newest, l.oldest = newest, oldest
}

// Render draws the list.
func (l *MessageList) Render() app.UI {
	empty := l.EmptyText
	if empty == "" {
		empty = "No messages yet."
	}
	items := make([]app.UI, len(l.Items))
	for i, m := range l.Items {
		items[i] = &messageItem{Message: m, OnRetry: l.OnRetry, OnDiscard: l.OnDiscard}
	}
	return app.Section().
		Class("message-list").
		DataSet("testid", "message-list").
		Role("log").
		Aria("label", "Messages").
		OnScroll(l.onScroll).
		Body(
			// Always there, so that the messages after it stay the same
			// elements when HasOlder changes: go-app matches children by
			// position.
			app.Div().Class("message-history").Body(
				app.If(l.HasOlder, func() app.UI {
					label := "Load older messages"
					if l.LoadingOlder {
						label = "Loading older messages…"
					}
					return app.Button().
						Type("button").
						Class("load-older").
						DataSet("testid", "load-older").
						OnClick(l.onLoadOlder).
						Text(label)
				}),
			),
			app.If(len(l.Items) == 0, func() app.UI {
				return app.P().Class("message-list-empty").DataSet("testid", "message-list-empty").Text(empty)
			}).Else(func() app.UI {
				return app.Ol().Class("messages").Body(items...)
			}),
		)
}

// onScroll asks for older history when the reader reaches the top. It only
// reads the position, so it skips the redraw every scroll event would cause.
func (l *MessageList) onScroll(ctx app.Context, e app.Event) {
	ctx.PreventUpdate()
	if !l.HasOlder || l.LoadingOlder || l.askedOlder || l.OnLoadOlder == nil {
		return
	}
	if e.Get("target").Get("scrollTop").Float() <= nearTop {
		l.askedOlder = true
		l.OnLoadOlder()
	}
}

func (l *MessageList) onLoadOlder(ctx app.Context, e app.Event) {
	if l.OnLoadOlder != nil && !l.LoadingOlder {
		l.askedOlder = true
		l.OnLoadOlder()
	}
}

// messageItem is one message of the list. It is a component so that its
// buttons act on the message it shows now: go-app keeps an element's event
// handler across renders, and a closure over the client id would go stale
// when older history shifts the items.
type messageItem struct {
	app.Compo

	Message   MessageView
	OnRetry   func(clientID string)
	OnDiscard func(clientID string)
}

// OnMount marks an unacked message; it runs on the UI goroutine.
func (m *messageItem) OnMount(ctx app.Context) { m.markUnacked(ctx) }

// OnUpdate marks an unacked message once the update is in the DOM; it runs
// on the UI goroutine.
func (m *messageItem) OnUpdate(ctx app.Context) { ctx.Defer(m.markUnacked) }

// markUnacked writes the empty data-seq of the DOM contract: go-app drops an
// attribute whose value is empty, so it is set here, in the browser only.
func (m *messageItem) markUnacked(ctx app.Context) {
	if m.Message.Seq <= 0 && app.IsClient {
		m.JSValue().Call("setAttribute", "data-seq", "")
	}
}

// Render draws the message.
func (m *messageItem) Render() app.UI {
	v := m.Message
	state := v.State
	if state == "" {
		state = MessageSent
	}
	side, sender := "theirs", v.SenderName
	if v.Mine {
		side, sender = "mine", "You"
	}
	seq := ""
	if v.Seq > 0 {
		seq = strconv.FormatInt(v.Seq, 10)
	}
	li := app.Li().
		Class("message", "message-"+side, "message-"+string(state)).
		DataSet("testid", "message").
		DataSet("client-id", v.ClientID).
		DataSet("seq", seq).
		DataSet("state", string(state)).
		DataSet("mine", strconv.FormatBool(v.Mine))
	if v.New {
		li = li.Class("message-new").DataSet("new", "true")
	}
	return li.
		Body(
			// Inside the first new message rather than beside it: go-app
			// matches the list's children by position.
			app.If(v.FirstNew, func() app.UI {
				return app.Div().Class("new-divider").DataSet("testid", "new-divider").Aria("hidden", "true").Text("New messages")
			}),
			app.Div().Class("message-bubble").Body(
				app.If(sender != "", func() app.UI {
					return app.Span().Class("message-sender").Text(sender)
				}),
				app.P().Class("message-body").DataSet("testid", "message-body").Text(v.Body),
				app.Div().Class("message-meta").Body(
					app.If(!v.SentAt.IsZero(), func() app.UI {
						local := v.SentAt.Local()
						return app.Time().
							Class("message-time").
							DateTime(local.Format(time.RFC3339)).
							Title(local.Format("Mon 2 Jan 2006, 15:04")).
							Text(local.Format("15:04"))
					}),
					app.If(v.Mine, func() app.UI { return mark(state) }),
				),
			),
			app.If(state == MessageFailed, func() app.UI {
				reason := v.Error
				if reason == "" {
					reason = "Not sent."
				}
				return app.Div().Class("message-failure").Body(
					app.Span().Class("message-error").DataSet("testid", "message-error").Text(reason),
					app.Button().
						Type("button").
						Class("message-retry").
						DataSet("testid", "message-retry").
						OnClick(m.onRetry).
						Text("Retry"),
					app.If(m.OnDiscard != nil, func() app.UI {
						return app.Button().
							Type("button").
							Class("message-discard").
							DataSet("testid", "message-discard").
							OnClick(m.onDiscard).
							Text("Discard")
					}),
				)
			}),
		)
}

// mark is the sign beside a message of mine: a clock while it waits, a
// tick once stored, a warning when it failed, each with its words for
// screen readers.
func mark(state MessageState) app.UI {
	icon, words := iconCheck, "Sent"
	switch state {
	case MessagePending:
		icon, words = iconClock, "Sending"
	case MessageFailed:
		icon, words = iconAlert, "Not sent"
	}
	return app.Span().
		Class("message-mark", "mark-"+string(state)).
		Title(words).
		Body(
			app.Raw(icon),
			app.Span().Class("visually-hidden").Text(words),
		)
}

func (m *messageItem) onRetry(ctx app.Context, e app.Event) {
	if m.OnRetry != nil {
		m.OnRetry(m.Message.ClientID)
	}
}

func (m *messageItem) onDiscard(ctx app.Context, e app.Event) {
	if m.OnDiscard != nil {
		m.OnDiscard(m.Message.ClientID)
	}
}
