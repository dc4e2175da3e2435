//go:build !wasm

package auth_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/auth"
)

// nodeAuth is the Auth of a node with the shared test secret: a dev node's
// when dev is true, else a production node's.
func nodeAuth(t *testing.T, now time.Time, dev bool) *auth.Auth {
	t.Helper()
	a, err := auth.New(secret, auth.Options{AllowAllRooms: dev, Dev: dev, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return a
}

func TestVerifyByIssuerAndLifetime(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	// claims is a customer token issued now and valid for an hour, changed
	// by kv: a nil value removes the claim.
	claims := func(kv ...any) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "casey", "name": "Casey", "role": "customer", "rooms": []string{"r1"}, "iat": at(0), "exp": at(time.Hour)}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	devToken := func(kv ...any) jwt.MapClaims {
		return claims(append([]any{"iss", auth.DevIssuer, "aud", []string{auth.DevAudience}}, kv...)...)
	}
	tests := []struct {
		name       string
		claims     jwt.MapClaims
		production error // what a node without -dev says; nil accepts
		dev        error // what a dev node says
	}{
		{name: "a platform's token without iss is accepted everywhere", claims: claims()},
		{name: "a token of the production issuer is accepted everywhere", claims: claims("iss", auth.Issuer)},
		{name: "a dev token is refused without -dev and accepted with it", claims: devToken(), production: auth.ErrInvalidToken},
		{name: "the dev issuer alone marks a dev token", claims: claims("iss", auth.DevIssuer), production: auth.ErrInvalidToken},
		{name: "the dev audience alone marks a dev token", claims: claims("aud", auth.DevAudience), production: auth.ErrInvalidToken},
		{name: "the dev audience among others marks a dev token", claims: claims("aud", []string{"booking", auth.DevAudience}), production: auth.ErrInvalidToken},
		{name: "another audience is no dev token", claims: claims("aud", "booking")},
		{name: "an unknown issuer is refused everywhere", claims: claims("iss", "someone-else"), production: auth.ErrInvalidToken, dev: auth.ErrInvalidToken},
		{name: "a production token of exactly the maximum lifetime is accepted", claims: claims("exp", at(auth.MaxLifetime))},
		{name: "a production token living a second longer than the maximum is refused",
			claims: claims("exp", at(auth.MaxLifetime+time.Second)), production: auth.ErrInvalidToken, dev: auth.ErrInvalidToken},
		{name: "a lifetime over the maximum is refused even when less of it is left",
			claims: claims("iat", at(-2*time.Hour), "exp", at(23*time.Hour)), production: auth.ErrInvalidToken, dev: auth.ErrInvalidToken},
		{name: "without iat, a token valid for the maximum from now is accepted", claims: claims("iat", nil, "exp", at(auth.MaxLifetime))},
		{name: "without iat, a token valid for longer than the maximum from now is refused",
			claims: claims("iat", nil, "exp", at(auth.MaxLifetime+time.Minute)), production: auth.ErrInvalidToken, dev: auth.ErrInvalidToken},
		{name: "an iat in the future does not stretch the lifetime",
			claims: claims("iat", at(48*time.Hour), "exp", at(72*time.Hour)), production: auth.ErrInvalidToken, dev: auth.ErrInvalidToken},
		{name: "a production token of a week is refused by a dev node too",
			claims: claims("exp", at(auth.MaxDevLifetime)), production: auth.ErrInvalidToken, dev: auth.ErrInvalidToken},
		{name: "a dev token of a week is accepted by a dev node", claims: devToken("exp", at(auth.MaxDevLifetime)), production: auth.ErrInvalidToken},
		{name: "a dev token of over a week is refused by a dev node",
			claims: devToken("exp", at(auth.MaxDevLifetime+time.Second)), production: auth.ErrInvalidToken, dev: auth.ErrInvalidToken},
		{name: "a dev token without exp is refused", claims: devToken("exp", nil), production: auth.ErrInvalidToken, dev: auth.ErrInvalidToken},
		{name: "an expired dev token is refused as expired by a dev node",
			claims: devToken("iat", at(-2*time.Hour), "exp", at(-time.Hour)), production: auth.ErrExpiredToken, dev: auth.ErrExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token := sign(t, jwt.SigningMethodHS256, secret, tt.claims)
			for _, node := range []struct {
				dev  bool
				want error
			}{{false, tt.production}, {true, tt.dev}} {
				c, err := nodeAuth(t, now, node.dev).Verify(token)
				if node.want != nil {
					require.ErrorIs(t, err, node.want, "dev node: %v", node.dev)
					assert.Nil(t, c)
					continue
				}
				require.NoError(t, err, "dev node: %v", node.dev)
				assert.Equal(t, "casey", c.Subject)
			}
		})
	}
}

func TestIssuedTokensNameTheirIssuer(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	user := wire.User{ID: "taylor", Name: "Taylor", Role: wire.RoleTherapist}
	production, dev := nodeAuth(t, now, false), nodeAuth(t, now, true)

	t.Run("a dev node's token is a dev token, refused by a production node with the same secret", func(t *testing.T) {
		t.Parallel()
		token, err := dev.Issue(user, []string{"r1"}, time.Hour)
		require.NoError(t, err)
		c, err := dev.Verify(token)
		require.NoError(t, err)
		assert.Equal(t, auth.DevIssuer, c.Issuer)
		assert.Equal(t, jwt.ClaimStrings{auth.DevAudience}, c.Audience)
		_, err = production.Verify(token)
		assert.ErrorIs(t, err, auth.ErrInvalidToken)
		assert.ErrorContains(t, err, "-dev")
	})
	t.Run("a production node's token is accepted by both", func(t *testing.T) {
		t.Parallel()
		token, err := production.Issue(user, []string{"r1"}, time.Hour)
		require.NoError(t, err)
		for _, a := range []*auth.Auth{production, dev} {
			c, err := a.Verify(token)
			require.NoError(t, err)
			assert.Equal(t, auth.Issuer, c.Issuer)
			assert.Empty(t, c.Audience)
		}
	})

	tests := []struct {
		name string
		a    *auth.Auth
		ttl  time.Duration
		ok   bool
	}{
		{name: "production: the maximum lifetime is issued", a: production, ttl: auth.MaxLifetime, ok: true},
		{name: "production: longer than the maximum is not issued", a: production, ttl: auth.MaxLifetime + time.Second},
		{name: "production: a week is not issued", a: production, ttl: auth.MaxDevLifetime},
		{name: "dev: a week is issued", a: dev, ttl: auth.MaxDevLifetime, ok: true},
		{name: "dev: longer than a week is not issued", a: dev, ttl: auth.MaxDevLifetime + time.Second},
		{name: "no lifetime is not issued", a: production, ttl: 0},
		{name: "a negative lifetime is not issued", a: dev, ttl: -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token, err := tt.a.Issue(user, []string{"r1"}, tt.ttl)
			if !tt.ok {
				assert.ErrorContains(t, err, "out of range")
				return
			}
			require.NoError(t, err)
			_, err = tt.a.Verify(token)
			require.NoError(t, err, "a token it issues is one it accepts")
		})
	}
}
