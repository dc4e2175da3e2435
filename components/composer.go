package components

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/conn/wire"
)

// Composer is where the user writes a message: Enter sends, Shift+Enter
// starts a new line. It works whatever the connection, since messages wait
// in the outbox until they can go; only Disabled (an expired session, say)
// turns it off.
type Composer struct {
	app.Compo

	// OnSend hands over a trimmed, non-empty body of at most
	// wire.MaxBodyChars characters. On an error the text stays and the
	// error shows.
	OnSend func(body string) error
	// Disabled turns the input and the button off.
	Disabled bool
	// Placeholder replaces "Write a message…".
	Placeholder string

	// draft is what the textarea holds, as its input events told. It is not
	// an exported field: the parent's next render would overwrite it.
	draft string
	err   string
}

// Render draws the composer. The textarea's value is not bound to the
// draft: go-app cannot clear a value it has set (it drops empty
// attributes), so send clears it in the DOM itself.
func (c *Composer) Render() app.UI {
	placeholder := c.Placeholder
	if placeholder == "" {
		placeholder = "Write a message…"
	}
	input := app.Textarea().
		Class("composer-input").
		DataSet("testid", "composer-input").
		Rows(1).
		MaxLength(wire.MaxBodyChars).
		Placeholder("%s", placeholder).
		Aria("label", "Message").
		OnInput(c.onInput).
		OnKeyDown(c.onKeyDown)
	send := app.Button().
		Type("button").
		Class("composer-send").
		DataSet("testid", "composer-send").
		OnClick(c.onSend).
		Body(app.Raw(iconSend), app.Span().Class("composer-send-text").Text("Send"))
	// Only a true Disabled is written: go-app would pre-render a false one
	// as disabled="false", which HTML reads as disabled.
	if c.Disabled {
		input = input.Disabled(true)
		send = send.Disabled(true)
	}
	if c.err != "" {
		input = input.Aria("invalid", "true")
	}
	// The row comes first and the error after it (CSS shows it above):
	// go-app matches children by position, and an error inserted before
	// the row would make it a new textarea, losing the text.
	return app.Div().
		Class("composer").
		DataSet("testid", "composer").
		Body(
			app.Div().Class("composer-row").Body(input, send),
			app.If(c.err != "", func() app.UI {
				return app.P().
					Class("composer-error").
					DataSet("testid", "composer-error").
					Role("alert").
					Text(c.err)
			}),
		)
}

// send hands the draft to OnSend and reports whether it went: an empty or
// blank draft is refused quietly, a too long one or an error from OnSend
// keeps the draft and shows why.
func (c *Composer) send() bool {
	if c.Disabled || c.OnSend == nil {
		return false
	}
	body := strings.TrimSpace(c.draft)
	if body == "" {
		return false
	}
	if n := utf8.RuneCountInString(body); n > wire.MaxBodyChars {
		c.err = fmt.Sprintf("This message has %d characters; the limit is %d.", n, wire.MaxBodyChars)
		return false
	}
	if err := c.OnSend(body); err != nil {
		c.err = "Not sent: " + err.Error()
		return false
	}
	c.draft, c.err = "", ""
	return true
}

// submit sends the draft and, if it went, empties the textarea and keeps the
// focus there for the next message (a phone keeps its keyboard). It runs on
// the UI goroutine.
func (c *Composer) submit() {
	if c.send() {
		input := c.JSValue().Call("querySelector", "textarea")
		input.Set("value", "")
		input.Call("focus")
	}
}

func (c *Composer) onInput(ctx app.Context, e app.Event) {
	c.draft = e.Get("target").Get("value").String()
	if c.err == "" {
		// Typing changes nothing on screen: skip the redraw.
		ctx.PreventUpdate()
		return
	}
	// The user is fixing the message: the old error no longer applies.
	c.err = ""
}

func (c *Composer) onKeyDown(ctx app.Context, e app.Event) {
	// Shift+Enter is a new line, and an Enter that ends an IME composition
	// only confirms the characters.
	if e.Get("key").String() != "Enter" || e.Get("shiftKey").Bool() || e.Get("isComposing").Bool() {
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
	c.submit()
}

func (c *Composer) onSend(ctx app.Context, e app.Event) {
	c.submit()
}
