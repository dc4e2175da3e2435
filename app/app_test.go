package app_test

import (
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
	}
}

func renderHome(t *testing.T, dev bool) string {
	t.Helper()
	page := &app.HomePage{Dev: dev}
	e := goapp.NewTestEngine()
	require.NoError(t, e.Load(page))
	e.ConsumeAll()
	return goapp.HTMLString(page)
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
	page := &app.ChatPage{Source: components.FixedStatus(conn.InitialStatus())}
	e := goapp.NewTestEngine()
	require.NoError(t, e.Load(page))
	e.ConsumeAll()
	html := goapp.HTMLString(page)
	assert.Contains(t, html, `data-testid="chat-header"`)
	assert.Contains(t, html, `data-testid="connection-indicator"`)
	assert.Contains(t, html, `data-quality="disconnected"`)
}

func TestRegisterRequiresAStatusSource(t *testing.T) {
	assert.Panics(t, func() { app.Register(app.Options{}) })
}

func TestChatPagePreRendersTheWholeChat(t *testing.T) {
	page := &app.ChatPage{Source: components.FixedStatus(conn.InitialStatus())}
	e := goapp.NewTestEngine()
	require.NoError(t, e.Load(page))
	e.ConsumeAll()
	html := goapp.HTMLString(page)
	for _, id := range []string{"chat-header", "message-list", "composer-input", "composer-send"} {
		assert.Contains(t, html, `data-testid="`+id+`"`)
	}
	assert.NotContains(t, html, `data-testid="connection-banner"`, "no banner while merely connecting")
}

func TestTherapistPagePreRendersTheInboxAndTheChat(t *testing.T) {
	page := &app.TherapistPage{Source: components.FixedStatus(conn.InitialStatus())}
	e := goapp.NewTestEngine()
	require.NoError(t, e.Load(page))
	e.ConsumeAll()
	html := goapp.HTMLString(page)
	for _, id := range []string{"therapist-page", "inbox-empty", "chat-header", "message-list", "composer-input"} {
		assert.Contains(t, html, `data-testid="`+id+`"`)
	}
}
