package components_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/components"
	"tether/conn/wire"
)

// sendRecorder is an OnSend that records the bodies and answers err.
type sendRecorder struct {
	bodies []string
	err    error
}

func (r *sendRecorder) send(body string) error {
	r.bodies = append(r.bodies, body)
	return r.err
}

func TestComposerSends(t *testing.T) {
	tests := []struct {
		name   string
		typed  string
		err    error
		sent   []string
		went   bool
		draft  string
		errMsg string
	}{
		{name: "sends the text trimmed and clears the draft",
			typed: "  See you at 3\nThanks!  \n", sent: []string{"See you at 3\nThanks!"}, went: true},
		{name: "refuses an empty text", typed: ""},
		{name: "refuses blank text and keeps it", typed: " \n\t ", draft: " \n\t "},
		{name: "keeps the text and shows the error when sending fails",
			typed: "hello", err: errors.New("failed to send to r1: service closed"),
			sent: []string{"hello"}, draft: "hello", errMsg: "Not sent: failed to send to r1: service closed"},
		{name: "refuses a text over the limit and says why",
			typed: strings.Repeat("é", wire.MaxBodyChars+1), draft: strings.Repeat("é", wire.MaxBodyChars+1),
			errMsg: "This message has 4001 characters; the limit is 4000."},
		{name: "takes a text at the limit in characters, not bytes",
			typed: strings.Repeat("😀", wire.MaxBodyChars), sent: []string{strings.Repeat("😀", wire.MaxBodyChars)}, went: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &sendRecorder{err: tt.err}
			c := &components.Composer{OnSend: rec.send}
			load(t, c)
			c.Type(tt.typed)
			assert.Equal(t, tt.went, c.Submit())
			assert.Equal(t, tt.sent, rec.bodies)
			assert.Equal(t, tt.draft, c.Draft())
			assert.Equal(t, tt.errMsg, c.Err())
			html := app.HTMLString(c.Render())
			if tt.errMsg != "" {
				assert.Regexp(t, attrRe("data-testid", "composer-error"), html)
				assert.Regexp(t, attrRe("role", "alert"), html)
			} else {
				assert.NotContains(t, html, "composer-error")
			}
		})
	}
}

func TestComposerSucceedsAfterAnError(t *testing.T) {
	rec := &sendRecorder{err: errors.New("boom")}
	c := &components.Composer{OnSend: rec.send}
	load(t, c)
	c.Type("hello")
	require.False(t, c.Submit())
	rec.err = nil
	assert.True(t, c.Submit(), "the kept text goes on the next try")
	assert.Equal(t, []string{"hello", "hello"}, rec.bodies)
	assert.Empty(t, c.Err())
	assert.Empty(t, c.Draft())
}

func TestComposerRenders(t *testing.T) {
	html := render(t, &components.Composer{OnSend: (&sendRecorder{}).send})
	assert.Regexp(t, `<textarea [^>]*data-testid="composer-input"`, html)
	assert.Regexp(t, attrRe("maxlength", "4000"), html)
	assert.Regexp(t, attrRe("placeholder", "Write a message…"), html)
	assert.Regexp(t, attrRe("aria-label", "Message"), html)
	assert.Regexp(t, `<button [^>]*data-testid="composer-send"`, html)
	assert.NotContains(t, html, "disabled", "never disabled because of the connection")
}

func TestDisabledComposerSendsNothing(t *testing.T) {
	rec := &sendRecorder{}
	c := &components.Composer{OnSend: rec.send, Disabled: true, Placeholder: "Your session expired"}
	html := render(t, c)
	assert.Equal(t, 2, strings.Count(html, " disabled"), "the input and the button")
	assert.Contains(t, html, "Your session expired")
	c.Type("hello")
	assert.False(t, c.Submit())
	assert.Empty(t, rec.bodies)
	assert.Equal(t, "hello", c.Draft())
}
