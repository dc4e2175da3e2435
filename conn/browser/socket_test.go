//go:build js && wasm

package browser_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/browser"
	"tether/conn/wire"
)

func TestWebSocketRoundTrip(t *testing.T) {
	room, user := name("room"), name("casey")
	s, e, _ := dialWelcomed(t, devToken(t, room, user, wire.RoleCustomer))

	send(t, s, &wire.Ping{ID: 7})
	pong := next[*wire.Pong](t, e)
	assert.Equal(t, int64(7), pong.ID)

	send(t, s, &wire.Subscribe{Room: room})
	next[*wire.Subscribed](t, e)
	body := "hello from Chromium — ünïcode ✓"
	send(t, s, &wire.Send{Room: room, ClientID: "c1", Body: body})
	msg := next[*wire.Message](t, e)
	assert.Equal(t, body, msg.Body, "the text frame arrives as sent, UTF-8 intact")
	assert.Equal(t, user, msg.Sender.ID)
	ack := next[*wire.Ack](t, e)
	assert.Equal(t, msg.Seq, ack.Seq)

	require.NoError(t, s.Close(wire.CloseNormal, "bye"))
	c := e.waitClose(t)
	assert.Equal(t, wire.CloseNormal, c.code)
	assert.Error(t, s.Send([]byte(`{"type":"ping","id":8}`)), "a closed socket refuses to send")
}

// The server closes with each code of the design's table; the port reports
// the code and reason the server sent, and whether the close was clean.
func TestEachCloseCodeReachesTheService(t *testing.T) {
	codes := []struct {
		code   wire.CloseCode
		reason string
	}{
		{wire.CloseNormal, "normal"},
		{wire.CloseGoingAway, "going away"},
		{wire.CloseBadData, "bad frame"},
		{wire.ClosePolicy, "policy"},
		{wire.CloseServerError, "server error"},
		{wire.CloseRestart, "restart"},
		{wire.CloseDraining, `{"retry_after_ms":1500}`},
		{wire.CloseUnauthorized, "token expired"},
		{wire.CloseForbidden, "not a participant"},
		{wire.CloseRateLimited, `{"retry_after_ms":2000}`},
	}
	room := name("room")
	tok := devToken(t, room, name("casey"), wire.RoleCustomer)
	for _, tt := range codes {
		t.Run(tt.code.String(), func(t *testing.T) {
			_, e, d := dialWelcomed(t, tok)
			var seen browser.CloseEvent
			d.OnClose = func(ce browser.CloseEvent) { seen = ce }
			setFaults(t, `{"close":`+mustJSON(t, map[string]any{"code": int(tt.code), "reason": tt.reason})+`}`)
			c := e.waitClose(t)
			assert.Equal(t, tt.code, c.code)
			assert.Equal(t, tt.reason, c.reason)
			assert.True(t, seen.WasClean, "a close frame came")
		})
	}

	t.Run("1006 when the server cuts the socket", func(t *testing.T) {
		_, e, d := dialWelcomed(t, tok)
		var seen browser.CloseEvent
		d.OnClose = func(ce browser.CloseEvent) { seen = ce }
		setFaults(t, `{"drop":"all"}`)
		c := e.waitClose(t)
		assert.Equal(t, wire.CloseAbnormal, c.code)
		assert.False(t, seen.WasClean, "no close frame came")
	})

	t.Run("1009 for a frame over the limit", func(t *testing.T) {
		s, e, _ := dialWelcomed(t, tok)
		big := `{"type":"send","room":"` + room + `","client_id":"big","body":"` + strings.Repeat("x", wire.MaxFrameBytes) + `"}`
		require.NoError(t, s.Send([]byte(big)))
		assert.Equal(t, wire.CloseTooBig, e.waitClose(t).code)
	})

	t.Run("4401 for a bad token", func(t *testing.T) {
		e := newEvents()
		d := &browser.Dialer{URL: browser.WebSocketURL(serverURL(t))}
		s, err := d.Dial(testContext(t), e.socketEvents(t))
		require.NoError(t, err)
		send(t, s, &wire.Hello{Token: "not-a-token"})
		assert.Equal(t, wire.CloseUnauthorized, e.waitClose(t).code)
	})
}

func TestDialFailsWithoutPanicWhenTheUpgradeIsRefused(t *testing.T) {
	setFaults(t, `{"refuse_websocket":true}`)
	t.Cleanup(func() { setFaults(t, `{"refuse_websocket":false}`) })
	d := &browser.Dialer{URL: browser.WebSocketURL(serverURL(t))}
	_, err := d.Dial(testContext(t), newEvents().socketEvents(t))
	var de *browser.DialError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, wire.CloseAbnormal, de.Close.Code)
}

func TestDialToABadURLIsAnError(t *testing.T) {
	d := &browser.Dialer{URL: "not a url"}
	_, err := d.Dial(testContext(t), newEvents().socketEvents(t))
	require.Error(t, err, "the browser throws a SyntaxError; the port returns it")
}

func TestSendRespectsTheBufferLimit(t *testing.T) {
	room := name("room")
	tok := devToken(t, room, name("casey"), wire.RoleCustomer)
	e := newEvents()
	d := &browser.Dialer{URL: browser.WebSocketURL(serverURL(t)), MaxBuffered: 1024}
	s, err := d.Dial(testContext(t), e.socketEvents(t))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(wire.CloseNormal, "") })
	send(t, s, &wire.Hello{Token: tok})
	next[*wire.Welcome](t, e)
	err = s.Send([]byte(strings.Repeat("x", 2048)))
	assert.ErrorIs(t, err, browser.ErrBackpressure, "a frame that cannot fit the buffer is refused, not queued")
}
