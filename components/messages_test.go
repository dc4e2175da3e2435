package components_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/components"
)

// xss is a body that would run script if it were ever written as HTML.
const xss = `<img src=x onerror=alert(1)>`

// chat is a conversation with a message in every state, the last one from
// the other side and hostile.
func chat() []components.MessageView {
	return []components.MessageView{
		{ClientID: "c-1", Seq: 7, State: components.MessageSent, Mine: true, SenderName: "Casey",
			Body: "Hello, is 3 pm still fine?", SentAt: t0},
		{ClientID: "c-2", State: components.MessagePending, Mine: true, SenderName: "Casey",
			Body: "I may be late", SentAt: t0.Add(time.Minute)},
		{ClientID: "c-3", State: components.MessageFailed, Mine: true, SenderName: "Casey",
			Body: "Parking?", SentAt: t0.Add(2 * time.Minute), Error: "server answered invalid_body"},
		{ClientID: "t-9", Seq: 8, State: components.MessageSent, Mine: false, SenderName: "Taylor",
			Body: xss, SentAt: t0.Add(3 * time.Minute)},
	}
}

// messageTags are the opening tags of the messages in html, in order.
func messageTags(html string) []string {
	return regexp.MustCompile(`<li [^>]*data-testid="message"[^>]*>`).FindAllString(html, -1)
}

func TestMessageListRendersEachState(t *testing.T) {
	list := &components.MessageList{Items: chat()}
	html := render(t, list)

	assert.Regexp(t, attrRe("data-testid", "message-list"), html)
	tags := messageTags(html)
	require.Len(t, tags, 4)
	tests := []struct {
		clientID, seq, state string
		mine                 bool
	}{
		{"c-1", "7", "sent", true},
		{"c-2", "", "pending", true},
		{"c-3", "", "failed", true},
		{"t-9", "8", "sent", false},
	}
	for i, tt := range tests {
		tag := tags[i]
		assert.Regexp(t, attrRe("data-client-id", tt.clientID), tag)
		assert.Regexp(t, attrRe("data-state", tt.state), tag)
		if tt.seq != "" {
			assert.Regexp(t, attrRe("data-seq", tt.seq), tag)
		} else {
			// go-app drops an empty attribute; the browser gets data-seq=""
			// once mounted (see the wasm test).
			assert.NotRegexp(t, `data-seq="\d`, tag, "no seq before the ack")
		}
		// go-app writes the value "true" as a bare attribute.
		if tt.mine {
			assert.Regexp(t, `data-mine( |>)`, tag)
			assert.Contains(t, tag, "message-mine")
		} else {
			assert.Regexp(t, attrRe("data-mine", "false"), tag)
			assert.Contains(t, tag, "message-theirs")
		}
		assert.Contains(t, tag, "message-"+tt.state)
	}

	assert.Equal(t, 1, strings.Count(html, `data-testid="message-retry"`), "only the failed message offers a retry")
	assert.Contains(t, html, "server answered invalid_body")
	assert.NotContains(t, html, `data-testid="message-discard"`, "no Discard without OnDiscard")
	assert.Contains(t, html, "mark-pending", "a clock on the pending message")
	assert.Contains(t, html, "mark-sent", "a tick on the sent one")
	assert.Contains(t, html, "mark-failed")
	assert.Equal(t, 3, strings.Count(html, "message-mark "), "marks only on my messages")
	assert.Contains(t, html, "Taylor", "their name shows")
	assert.Contains(t, html, t0.Add(3*time.Minute).Local().Format("15:04"))
	assert.NotContains(t, html, "load-older", "no older history")
}

func TestMessageBodyIsTextNeverHTML(t *testing.T) {
	list := &components.MessageList{Items: chat()}
	html := render(t, list)

	assert.NotContains(t, html, "<img")
	assert.Contains(t, html, `&lt;img src=x onerror=alert(1)&gt;`)
	// list → section → ol (after the history slot) → the fourth message →
	// li → bubble → body → text.
	require.NoError(t, app.Match(app.Text(xss), list, 0, 1, 3, 0, 0, 1, 0))
	require.NoError(t, app.Match(
		app.P().Class("message-body").DataSet("testid", "message-body").Text(xss),
		list, 0, 1, 3, 0, 0, 1))
}

func TestMessageListEmptyAndOlder(t *testing.T) {
	html := render(t, &components.MessageList{})
	assert.Contains(t, html, "No messages yet.")
	assert.NotContains(t, html, `data-testid="message"`)

	html = render(t, &components.MessageList{EmptyText: "Say hello to Taylor."})
	assert.Contains(t, html, "Say hello to Taylor.")

	html = render(t, &components.MessageList{Items: chat(), HasOlder: true, OnLoadOlder: func() {}})
	assert.Regexp(t, attrRe("data-testid", "load-older"), html)
	assert.Contains(t, html, "Load older messages")
	assert.Less(t, strings.Index(html, "load-older"), strings.Index(html, `data-testid="message"`),
		"the button is above the messages")

	html = render(t, &components.MessageList{Items: chat(), HasOlder: true, LoadingOlder: true})
	assert.Contains(t, html, "Loading older messages…")
}

func TestMessageListOffersDiscard(t *testing.T) {
	html := render(t, &components.MessageList{Items: chat(), OnDiscard: func(string) {}})
	assert.Equal(t, 1, strings.Count(html, `data-testid="message-discard"`))
}

func TestMessagesThatCameInDuringAnOutageAreMarked(t *testing.T) {
	t.Parallel()
	html := render(t, &components.MessageList{Items: []components.MessageView{
		{Seq: 1, Body: "before", SenderName: "Casey"},
		{Seq: 2, Body: "during one", SenderName: "Casey", New: true, FirstNew: true},
		{Seq: 3, Body: "during two", SenderName: "Casey", New: true},
	}})
	// go-app writes a "true" attribute bare in HTML; the browser's DOM has
	// data-new="true".
	assert.Len(t, regexp.MustCompile(`data-new(="true")?[ >]`).FindAllString(html, -1), 2, html)
	assert.Equal(t, 1, strings.Count(html, `data-testid="new-divider"`), "one line, before the first")
	assert.Less(t, strings.Index(html, "new-divider"), strings.Index(html, "during one"))
	assert.Greater(t, strings.Index(html, "new-divider"), strings.Index(html, "before"))
}
