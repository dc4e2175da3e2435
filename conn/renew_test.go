package conn_test

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/wire"
)

// jwt is a token the client can read the expiry of (exp, unsigned: the
// client never checks signatures; the server does).
func jwt(name string, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":%q,"exp":%d}`, name, exp.Unix()))) + ".sig"
}

// auths are the auth frames the server received.
func auths(h *harness) []string {
	var out []string
	for _, f := range h.srv.Received(wire.TypeAuth) {
		out = append(out, f.(*wire.Auth).Token)
	}
	return out
}

func TestTokensAreRenewedOnTheLiveSocket(t *testing.T) {
	t.Parallel()

	t.Run("at 80 % of its life a token is renewed in an auth frame, on the same socket", func(t *testing.T) {
		t.Parallel()
		var first, second, third string
		h := newHarness(t, func(h *harness) {
			now := h.clock.Now()
			first = jwt("t1", now.Add(100*time.Second))
			second = jwt("t2", now.Add(180*time.Second))
			third = jwt("t3", now.Add(300*time.Second))
			h.tokens = conntest.NewTokens(first, second, third)
		})
		h.subscribe("room-1")
		h.settle()
		assert.Equal(t, conn.StateConnected, h.state())
		connectedAt := len(h.states())
		h.advance(79 * time.Second)
		assert.Empty(t, auths(h), "not before 80 %")
		h.advance(time.Second)
		assert.Equal(t, []string{second}, auths(h))
		// The next at 80 % of what the new token has left: 80 s from now.
		h.advance(79 * time.Second)
		assert.Len(t, auths(h), 1)
		h.advance(time.Second)
		assert.Equal(t, []string{second, third}, auths(h))

		assert.Equal(t, 1, h.srv.Stats().Dials, "no socket reopened for a renewal")
		for _, st := range h.states()[connectedAt:] {
			assert.Equal(t, conn.StateConnected, st, "the status never left connected")
		}
		assert.True(t, h.logs.has("ConnectionStability: Token renewed on the live socket"))
		h.srv.Publish("room-1", "still here")
		h.settle()
		assert.Equal(t, []int64{1}, h.seqs("room-1"))
	})

	t.Run("a renewal that fails is tried again while the token lasts, and the socket goes on", func(t *testing.T) {
		t.Parallel()
		var first, second string
		h := newHarness(t, func(h *harness) {
			first = jwt("t1", h.clock.Now().Add(100*time.Second))
			second = jwt("t2", h.clock.Now().Add(1000*time.Second))
			h.tokens = conntest.NewTokens(first)
		})
		h.settle()
		h.advance(80 * time.Second)
		assert.Empty(t, auths(h))
		assert.True(t, h.logs.has("ConnectionStability: Token renewal failed - trying again"))
		assert.Equal(t, conn.StateConnected, h.state())
		// Half of the 20 s left: 10 s later it asks again, and gets one.
		h.tokens.QueueRefresh(second)
		h.advance(10 * time.Second)
		assert.Equal(t, []string{second}, auths(h))
		assert.Equal(t, conn.StateConnected, h.state())
	})

	t.Run("a token without exp is not renewed", func(t *testing.T) {
		h := parallelHarness(t)
		h.settle()
		h.advance(time.Hour)
		_, refreshes := h.tokens.Calls()
		assert.Zero(t, refreshes)
		assert.Empty(t, auths(h))
	})
}

// A socket closed 4403 "revoked" (the operator ended the session) fails no
// room: the service asks for a new token once, and without one is
// unauthorized with the server's reason.
func TestARevokedSessionAsksForATokenOnceAndFailsNoRoom(t *testing.T) {
	h := parallelHarness(t)
	h.subscribe("room-1")
	h.settle()
	h.tokens.FailRefresh(&conn.HTTPError{Status: 401, Code: wire.CodeRevoked, Message: "this access was revoked: ask for a new link"})
	h.srv.Break(wire.CloseForbidden, wire.CodeRevoked)
	h.settle()
	st := h.status()
	assert.Equal(t, conn.StateUnauthorized, st.State)
	assert.Contains(t, st.LastError, "server answered revoked:")
	assert.Empty(t, h.roomErrors("room-1"), "no room failed")
	_, refreshes := h.tokens.Calls()
	assert.Equal(t, 1, refreshes)
}
