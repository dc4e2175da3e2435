//go:build !wasm

package auth_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/auth"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func newAuth(t *testing.T, now time.Time, allowAll bool) *auth.Auth {
	t.Helper()
	a, err := auth.New(secret, auth.Options{AllowAllRooms: allowAll, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return a
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	a := newAuth(t, now, false)
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "casey", "name": "Casey", "role": "customer", "rooms": []string{"r1"}, "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := valid()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"a well-formed token is accepted", sign(t, jwt.SigningMethodHS256, secret, valid()), nil},
		{"a token signed with another secret is refused", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid()), auth.ErrInvalidToken},
		{"HS512 is refused: the algorithm is pinned", sign(t, jwt.SigningMethodHS512, secret, valid()), auth.ErrInvalidToken},
		{"an unsigned token (alg none) is refused", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid()), auth.ErrInvalidToken},
		{"an expired token is refused as expired", sign(t, jwt.SigningMethodHS256, secret, with("exp", now.Add(-time.Minute).Unix())), auth.ErrExpiredToken},
		{"a token without exp is refused", sign(t, jwt.SigningMethodHS256, secret, with("exp", nil)), auth.ErrInvalidToken},
		{"a token without sub is refused", sign(t, jwt.SigningMethodHS256, secret, with("sub", nil)), auth.ErrInvalidToken},
		{"an unknown role is refused", sign(t, jwt.SigningMethodHS256, secret, with("role", "admin")), auth.ErrInvalidToken},
		{"rooms of the wrong type are refused", sign(t, jwt.SigningMethodHS256, secret, with("rooms", "r1")), auth.ErrInvalidToken},
		{"garbage is refused", "not.a.token", auth.ErrInvalidToken},
		{"an empty token is refused", "", auth.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := a.Verify(tt.token)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, wire.User{ID: "casey", Name: "Casey", Role: "customer"}, c.User())
			assert.Equal(t, now.Add(time.Hour), c.Expiry())
		})
	}
}

func TestIssueThenVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	a := newAuth(t, now, false)
	token, err := a.Issue(wire.User{ID: "taylor", Name: "Taylor", Role: "therapist"}, []string{"r1", "r2"}, time.Minute)
	require.NoError(t, err)
	c, err := a.Verify(token)
	require.NoError(t, err)
	assert.Equal(t, []string{"r1", "r2"}, c.Rooms)
	assert.True(t, a.CanAccess(c, "r2"))
	assert.False(t, a.CanAccess(c, "r3"))

	later := newAuth(t, now.Add(2*time.Minute), false)
	_, err = later.Verify(token)
	assert.ErrorIs(t, err, auth.ErrExpiredToken)
}

func TestAllRoomsOnlyInDevMode(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := &auth.Claims{Rooms: []string{auth.AllRooms}}
	assert.False(t, newAuth(t, now, false).CanAccess(c, "any"), `"*" must mean nothing in production`)
	assert.True(t, newAuth(t, now, true).CanAccess(c, "any"))
}

func TestVisibleRooms(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name     string
		rooms    []string
		dev      bool
		want     []string
		wantsAll bool
	}{
		{name: "the rooms of the claim, in its order", rooms: []string{"r2", "r1"}, want: []string{"r2", "r1"}},
		{name: "a repeated room is listed once", rooms: []string{"r1", "r2", "r1"}, want: []string{"r1", "r2"}},
		{name: "a malformed room is left out", rooms: []string{"r1", "-bad", "", "a b"}, want: []string{"r1"}},
		{name: "no rooms claim lists none, not every room", rooms: nil, want: []string{}},
		{name: "every room is not honoured in production", rooms: []string{"r1", auth.AllRooms}, want: []string{"r1"}},
		{name: "every room is honoured in dev mode", rooms: []string{"r1", auth.AllRooms}, dev: true, wantsAll: true},
		{name: "a claim without every room in dev mode lists its rooms", rooms: []string{"r1"}, dev: true, want: []string{"r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, all := newAuth(t, now, tt.dev).VisibleRooms(&auth.Claims{Rooms: tt.rooms})
			assert.Equal(t, tt.wantsAll, all)
			if tt.wantsAll {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got, "nil would read as every room")
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNewRefusesAShortSecret(t *testing.T) {
	t.Parallel()
	_, err := auth.New([]byte("short"), auth.Options{})
	assert.ErrorContains(t, err, "at least 32")
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"Basic abc", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/api/ping?token=leaked", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, ok := auth.BearerToken(r)
		assert.Equal(t, tt.ok, ok, tt.header)
		assert.Equal(t, tt.want, got, tt.header)
	}
}

func TestDevSecretIsStableAndPrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := auth.DevSecret(dir)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(first), auth.MinSecretBytes)
	again, err := auth.DevSecret(dir)
	require.NoError(t, err)
	assert.Equal(t, first, again, "dev tokens must survive a restart")
	info, err := os.Stat(filepath.Join(dir, "dev-secret"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	other, err := auth.DevSecret(t.TempDir())
	require.NoError(t, err)
	assert.NotEqual(t, first, other, "two data folders share no secret")
}

func TestSecretFromEnv(t *testing.T) {
	t.Setenv(auth.EnvSecret, "")
	_, err := auth.SecretFromEnv()
	assert.ErrorContains(t, err, "TETHER_SECRET is not set")
	t.Setenv(auth.EnvSecret, "short")
	_, err = auth.SecretFromEnv()
	assert.ErrorContains(t, err, "at least 32")
	t.Setenv(auth.EnvSecret, strings.Repeat("s", 40))
	s, err := auth.SecretFromEnv()
	require.NoError(t, err)
	assert.Len(t, s, 40)
}

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
