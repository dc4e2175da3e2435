//go:build !wasm

package integration_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/native"
	"tether/conn/wire"
)

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
