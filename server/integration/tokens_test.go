//go:build !wasm

package integration_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/node"
)

// A dev node started with the production secret must not mint tokens that
// production accepts: over HTTP a production node answers 401, over
// WebSocket it closes with 4401. Platform tokens go on working everywhere,
// within the maximum lifetime.
func TestADevNodesTokensAreRefusedByAProductionNodeWithTheSameSecret(t *testing.T) {
	t.Parallel()
	secret := []byte("one-secret-shared-by-a-dev-and-a-production-node")
	dev := startNode(t, func(m *node.Main) { m.Secret = secret })
	production := startNode(t, func(m *node.Main) {
		m.Dev, m.Faults = false, false
		m.Secret = secret
	})
	const room = "booking-1"
	platform := func(lifetime time.Duration) string {
		now := time.Now()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "casey", "name": "Casey", "role": wire.RoleCustomer, "rooms": []string{room},
			"iat": now.Unix(), "exp": now.Add(lifetime).Unix(),
		}).SignedString(secret)
		require.NoError(t, err)
		return tok
	}

	tests := []struct {
		name                string
		token               string
		devOK, productionOK bool
	}{
		{name: "a dev node's token is accepted by dev nodes only",
			token: token(t, dev, room, "casey", wire.RoleCustomer), devOK: true},
		{name: "a dev node's week-long token is accepted by dev nodes only",
			token: devTokenTTL(t, dev, room, auth.MaxDevLifetime), devOK: true},
		{name: "a platform's token without iss is accepted everywhere",
			token: platform(time.Hour), devOK: true, productionOK: true},
		{name: "a platform's token of a week is refused everywhere",
			token: platform(auth.MaxDevLifetime)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, n := range []struct {
				name string
				m    *node.Main
				ok   bool
			}{{"dev", dev, tt.devOK}, {"production", production, tt.productionOK}} {
				ctx := testContext(t)
				c, err := native.Dial(ctx, n.m.URL(), tt.token)
				if err == nil {
					t.Cleanup(func() { c.Close() })
				}
				_, httpErr := httpClient(n.m, tt.token).Messages(ctx, room, 0, 0)
				if n.ok {
					require.NoError(t, err, "WebSocket on the %s node", n.name)
					require.NoError(t, httpErr, "HTTP on the %s node", n.name)
					continue
				}
				assert.Equal(t, wire.CloseUnauthorized, native.CloseStatus(err), "WebSocket on the %s node: %v", n.name, err)
				he := requireHTTPError(t, httpErr, 401, wire.CodeUnauthorized)
				assert.Equal(t, "invalid token", he.Message, "HTTP on the %s node", n.name)
			}
		})
	}
}

// devTokenTTL is a dev token of casey for room from m, valid for ttl.
func devTokenTTL(t *testing.T, m *node.Main, room string, ttl time.Duration) string {
	t.Helper()
	tok, err := native.DevTokenTTL(t.Context(), m.URL(), room, "casey", "Casey", wire.RoleCustomer, ttl)
	require.NoError(t, err)
	return tok
}

// A token renewed on the live socket (auth) moves the session's end: the
// socket outlives its first token. A token of another user, or a bad one,
// is refused and changes nothing: the socket still ends with its first
// token (4401).
func TestATokenRenewedOnTheSocketMovesItsEnd(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	const room = "booking-1"
	ctx := testContext(t)
	short := func(user string) (string, time.Time) {
		tok, err := native.DevTokenTTL(ctx, m.URL(), room, user, user, wire.RoleCustomer, 2*time.Second)
		require.NoError(t, err)
		return tok, time.Now().Add(2 * time.Second)
	}
	long := func(user string) string {
		tok, err := native.DevTokenTTL(ctx, m.URL(), room, user, user, wire.RoleCustomer, time.Hour)
		require.NoError(t, err)
		return tok
	}

	// Renewed: authed with the new expiry, and alive past the first.
	tok, ends := short("casey")
	renewed := dial(t, m, tok)
	require.NoError(t, renewed.Write(ctx, &wire.Auth{Token: long("casey")}))
	f, err := renewed.NextMatch(ctx, func(f wire.Frame) bool { _, ok := f.(*wire.Authed); return ok })
	require.NoError(t, err)
	assert.InDelta(t, time.Now().Add(time.Hour).UnixMilli(), f.(*wire.Authed).ExpiresAt, float64(time.Minute.Milliseconds()))

	// Refused: another user's token, and a token that is no token.
	tok2, ends2 := short("sam")
	kept := dial(t, m, tok2)
	for _, bad := range []string{long("casey"), "not-a-token"} {
		require.NoError(t, kept.Write(ctx, &wire.Auth{Token: bad}))
		f, err := kept.NextMatch(ctx, func(f wire.Frame) bool { _, ok := f.(*wire.ErrorFrame); return ok })
		require.NoError(t, err)
		fe := f.(*wire.ErrorFrame)
		assert.Equal(t, wire.CodeUnauthorized, fe.Code)
		assert.Contains(t, fe.Message, "stays as it was")
	}
	_, err = kept.PingPong(ctx, 1)
	require.NoError(t, err, "the refused auth left the session open")
	requireClosed(t, kept, wire.CloseUnauthorized)
	assert.False(t, time.Now().Before(ends2.Add(-time.Second)), "closed at its first token's end, not before")

	// The renewed one is still open after its first token's end.
	time.Sleep(time.Until(ends.Add(500 * time.Millisecond)))
	_, err = renewed.PingPong(ctx, 2)
	assert.NoError(t, err, "the renewed socket outlived its first token")
}
