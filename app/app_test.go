package app_test

import (
	"net/url"
	"strings"
	"testing"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/app"
	"tether/components"
	"tether/conn"
	"tether/conn/wire"
)

// The chat route and the protocol must agree on what a room is.
func TestRoomPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		room string
		ok   bool
	}{
		{"any-room", true},
		{"b_2026.11.25-7", true},
		{"A", true},
		{strings.Repeat("r", 64), true},
		{strings.Repeat("r", 65), false},
		{"", false},
		{"-leading-dash", false},
		{".hidden", false},
		{"a/b", false},
		{"room with spaces", false},
		{"<script>", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, wire.ValidRoom(tt.room), "%q", tt.room)
		assert.Equal(t, tt.ok, app.IsPage("/chat/"+tt.room), "%q", tt.room)
	}
}

func TestIsPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
		want bool
	}{
		{name: "the home page is a page", path: "/", want: true},
		{name: "the inbox is a page", path: "/therapist", want: true},
		{name: "a room's chat is a page", path: "/chat/any-room", want: true},
		{name: "a chat without a room is not", path: "/chat/", want: false},
		{name: "a chat of two segments is not", path: "/chat/a/b", want: false},
		{name: "a chat of a bad room is not", path: "/chat/-room", want: false},
		{name: "robots.txt is not", path: "/robots.txt", want: false},
		{name: "a version-prefixed page is not", path: "/0123abcd/therapist", want: false},
		{name: "the inbox with a trailing slash is not", path: "/therapist/", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, app.IsPage(tt.path))
		})
	}
}

// render is the HTML of page once loaded in a test engine, as the server
// pre-renders it.
func render(t *testing.T, page goapp.Composer) string {
	t.Helper()
	e := goapp.NewTestEngine()
	require.NoError(t, e.Load(page))
	e.ConsumeAll()
	return goapp.HTMLString(page)
}

func renderHome(t *testing.T, dev bool) string {
	t.Helper()
	return render(t, &app.HomePage{Dev: dev})
}

func TestHomePageShowsDemoLinksOnlyInDevMode(t *testing.T) {
	dev := renderHome(t, true)
	assert.Contains(t, dev, `href="/chat/`+app.DemoRoom+`?as=customer`)
	assert.Contains(t, dev, `href="/therapist?as=therapist`)

	prod := renderHome(t, false)
	assert.NotContains(t, prod, "demo-customer")
	assert.NotContains(t, prod, "?as=")
}

func TestChatPageHasTheHeaderAndIndicator(t *testing.T) {
	html := render(t, &app.ChatPage{Source: components.FixedStatus(conn.InitialStatus())})
	assert.Contains(t, html, `data-testid="chat-header"`)
	assert.Contains(t, html, `data-testid="connection-indicator"`)
	assert.Contains(t, html, `data-quality="disconnected"`)
}

func TestRegisterRequiresAStatusSource(t *testing.T) {
	assert.Panics(t, func() { app.Register(app.Options{}) })
}

func TestChatPagePreRendersTheWholeChat(t *testing.T) {
	html := render(t, &app.ChatPage{Source: components.FixedStatus(conn.InitialStatus())})
	for _, id := range []string{"chat-header", "message-list", "composer-input", "composer-send"} {
		assert.Contains(t, html, `data-testid="`+id+`"`)
	}
	assert.NotContains(t, html, `data-testid="connection-banner"`, "no banner while merely connecting")
}

func TestTherapistPagePreRendersTheInboxAndTheChat(t *testing.T) {
	html := render(t, &app.TherapistPage{Source: components.FixedStatus(conn.InitialStatus())})
	for _, id := range []string{"therapist-page", "inbox-empty", "chat-header", "message-list", "composer-input"} {
		assert.Contains(t, html, `data-testid="`+id+`"`)
	}
}

// The browser entry opens a page's session before go-app renders it: the
// scope it opens must be the one the page then asks for.
func TestPageScopeIsTheScopeThePageOpens(t *testing.T) {
	t.Parallel()
	q := func(s string) url.Values { v, _ := url.ParseQuery(s); return v }
	tests := []struct {
		path, query string
		want        app.Scope
		ok          bool
	}{
		{"/chat/b-1", "", app.Scope{Room: "b-1"}, true},
		{"/chat/b-1", "as=customer&name=Casey&ttl=5s", app.Scope{Room: "b-1", As: "customer", Name: "Casey", TTL: "5s"}, true},
		{"/therapist", "room=b-1&as=therapist", app.Scope{As: "therapist"}, true},
		{"/", "", app.Scope{}, false},
		{"/chat/", "", app.Scope{}, false},
		{"/chat/a/b", "", app.Scope{}, false},
		{"/web/app.wasm", "", app.Scope{}, false},
	}
	for _, tt := range tests {
		got, ok := app.PageScope(tt.path, q(tt.query))
		assert.Equal(t, tt.ok, ok, "%s?%s", tt.path, tt.query)
		assert.Equal(t, tt.want, got, "%s?%s", tt.path, tt.query)
	}
}
