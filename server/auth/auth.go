//go:build !wasm

// Package auth checks the tokens that let people into booking rooms: HS256
// JWTs with the claims sub, name, role, rooms and exp.
//
// Tokens minted in dev mode carry their own issuer and audience (DevIssuer,
// DevAudience): a dev node started with the production secret must not mint
// tokens a production node accepts, so a node without -dev refuses them.
// Every token has a bounded lifetime (MaxLifetime, MaxDevLifetime): a leaked
// token is worth at most that long.
package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tether/conn/wire"
)

// Errors of Verify; both wrap the parser's reason.
var (
	ErrInvalidToken = errors.New("invalid token")
	ErrExpiredToken = errors.New("token expired")
)

// MinSecretBytes is the shortest secret accepted: HS256 wants at least as
// many bytes as its hash.
const MinSecretBytes = 32

// AllRooms in the rooms claim lets a dev-mode therapist into every room.
const AllRooms = "*"

// The issuers and audience a token may name. Booking platforms mint their
// tokens with TETHER_SECRET and set no iss: a token without one, or with
// Issuer, is a production token. DevIssuer and DevAudience mark the tokens a
// dev node mints; only a dev node accepts them. Any other issuer is refused.
const (
	Issuer      = "tether"
	DevIssuer   = "tether-dev"
	DevAudience = "tether-dev"
)

// MaxLifetime bounds a production token's lifetime (exp − iat, and exp − now
// whatever iat says): a booking platform mints a token per visit, and the
// session renewal of contract v2 issues much shorter ones. MaxDevLifetime
// bounds a dev token's, on a dev node only: GET /api/dev/token may ask for up
// to a week so a demo survives a weekend.
const (
	MaxLifetime    = 24 * time.Hour
	MaxDevLifetime = 7 * 24 * time.Hour
)

// leeway is the clock skew allowed between the minting host and this node.
const leeway = 5 * time.Second

// Claims are what a token says about its holder.
type Claims struct {
	jwt.RegisteredClaims
	Name  string   `json:"name"`
	Role  string   `json:"role"`
	Rooms []string `json:"rooms"`
	// Sid names the session (contract v2) a token was issued for; its
	// holder's rooms are then the bookings of the user, read live, and the
	// token's sockets close when the session is revoked.
	Sid string `json:"sid,omitempty"`
}

// User is the holder as the protocol shows them.
func (c *Claims) User() wire.User {
	return wire.User{ID: c.Subject, Name: c.Name, Role: c.Role}
}

// Expiry is when the token stops being valid.
func (c *Claims) Expiry() time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}

// Auth issues and verifies tokens with one secret.
type Auth struct {
	secret        []byte
	allowAllRooms bool
	dev           bool
	now           func() time.Time
}

// Options tune an Auth.
type Options struct {
	// AllowAllRooms honours "*" in the rooms claim (dev mode only).
	AllowAllRooms bool
	// Dev is a dev node's: Issue mints dev tokens (DevIssuer, DevAudience)
	// and Verify accepts them beside production ones. Without it Verify
	// refuses dev tokens, even when the secret is the same.
	Dev bool
	// Now replaces the clock in tests.
	Now func() time.Time
}

// New returns an Auth with secret, which must be at least MinSecretBytes long.
func New(secret []byte, o Options) (*Auth, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("the token secret has %d bytes; at least %d are needed", len(secret), MinSecretBytes)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Auth{secret: slices.Clone(secret), allowAllRooms: o.AllowAllRooms, dev: o.Dev, now: o.Now}, nil
}

// Verify checks a token's signature (HS256 only), expiry, issuer, lifetime
// and claims.
func (a *Auth) Verify(token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.now),
		jwt.WithLeeway(leeway),
	)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return nil, fmt.Errorf("%w: %v", ErrExpiredToken, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := a.checkIssuerAndLifetime(&c); err != nil {
		return nil, err
	}
	switch {
	case c.Subject == "":
		return nil, fmt.Errorf("%w: no sub", ErrInvalidToken)
	case !wire.ValidRole(c.Role):
		return nil, fmt.Errorf("%w: role %q", ErrInvalidToken, c.Role)
	}
	return &c, nil
}

// isDev reports whether c was minted by a dev node.
func isDev(c *Claims) bool {
	return c.Issuer == DevIssuer || slices.Contains(c.Audience, DevAudience)
}

// checkIssuerAndLifetime refuses a token of an unknown issuer, a dev token outside dev
// mode, and a token that lives longer than its kind may.
func (a *Auth) checkIssuerAndLifetime(c *Claims) error {
	switch c.Issuer {
	case "", Issuer, DevIssuer:
	default:
		return fmt.Errorf("%w: unknown issuer %q", ErrInvalidToken, c.Issuer)
	}
	dev := isDev(c)
	if dev && !a.dev {
		return fmt.Errorf("%w: a dev token (iss %q) is refused by a node without -dev", ErrInvalidToken, DevIssuer)
	}
	limit := MaxLifetime
	if dev {
		limit = MaxDevLifetime
	}
	exp := c.Expiry()
	if c.IssuedAt != nil && exp.Sub(c.IssuedAt.Time) > limit {
		return fmt.Errorf("%w: a lifetime of %s is over the maximum of %s", ErrInvalidToken, exp.Sub(c.IssuedAt.Time), limit)
	}
	if left := exp.Sub(a.now()); left > limit+leeway {
		return fmt.Errorf("%w: valid for another %s, over the maximum lifetime of %s", ErrInvalidToken, left.Truncate(time.Second), limit)
	}
	return nil
}

// CanAccess reports whether the holder of c is a participant of room.
func (a *Auth) CanAccess(c *Claims, room string) bool {
	for _, r := range c.Rooms {
		if r == room || (r == AllRooms && a.allowAllRooms) {
			return true
		}
	}
	return false
}

// VisibleRooms returns the rooms the holder of c is a participant of, by
// the same rule as CanAccess: all is true when that is every room (AllRooms,
// honoured in dev mode only); otherwise rooms lists the well-formed rooms of
// the claim, each once, and is empty but not nil when there are none. An
// inbox lists these rooms.
func (a *Auth) VisibleRooms(c *Claims) (rooms []string, all bool) {
	rooms = make([]string, 0, len(c.Rooms))
	seen := make(map[string]bool, len(c.Rooms))
	for _, r := range c.Rooms {
		switch {
		case r == AllRooms && a.allowAllRooms:
			return nil, true
		case wire.ValidRoom(r) && !seen[r]:
			seen[r] = true
			rooms = append(rooms, r)
		}
	}
	return rooms, false
}

// Issue signs a token for user with access to rooms, valid for ttl, which
// must be positive and at most MaxLifetime (MaxDevLifetime on a dev node's
// Auth). A dev node's tokens name DevIssuer and DevAudience, so that a node
// without -dev refuses them; the others name Issuer.
func (a *Auth) Issue(user wire.User, rooms []string, ttl time.Duration) (string, error) {
	return a.issue(user, rooms, "", ttl)
}

// IssueSession signs a token of session sid for user, valid for ttl (as
// for Issue). The holder's rooms are the user's bookings, which the chat
// reads live (contract v2), and the rooms named besides: none but on a dev
// node (see bookings.Sessions).
func (a *Auth) IssueSession(user wire.User, sid string, rooms []string, ttl time.Duration) (string, error) {
	if sid == "" {
		return "", errors.New("a session token needs its session")
	}
	return a.issue(user, rooms, sid, ttl)
}

// Dev reports whether a is a dev node's (Options.Dev).
func (a *Auth) Dev() bool { return a.dev }

func (a *Auth) issue(user wire.User, rooms []string, sid string, ttl time.Duration) (string, error) {
	limit, issuer, audience := MaxLifetime, Issuer, jwt.ClaimStrings(nil)
	if a.dev {
		limit, issuer, audience = MaxDevLifetime, DevIssuer, jwt.ClaimStrings{DevAudience}
	}
	if ttl <= 0 || ttl > limit {
		return "", fmt.Errorf("a token lifetime of %s is out of range: it must be positive and at most %s", ttl, limit)
	}
	now := a.now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Audience:  audience,
			Subject:   user.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Name:  user.Name,
		Role:  user.Role,
		Rooms: rooms,
		Sid:   sid,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(a.secret)
}

// BearerToken reads the token of an "Authorization: Bearer T" header. Tokens
// are never read from the query string: URLs end up in logs and histories.
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// EnvSecret is the environment variable that holds the production secret.
const EnvSecret = "TETHER_SECRET"

// SecretFromEnv reads TETHER_SECRET, with a message an operator can act on.
func SecretFromEnv() ([]byte, error) {
	s := os.Getenv(EnvSecret)
	if s == "" {
		return nil, fmt.Errorf("%s is not set: set it to a random secret of at least %d bytes (e.g. `openssl rand -hex 32`), or run with -dev", EnvSecret, MinSecretBytes)
	}
	if len(s) < MinSecretBytes {
		return nil, fmt.Errorf("%s has %d bytes; at least %d are needed", EnvSecret, len(s), MinSecretBytes)
	}
	return []byte(s), nil
}

// DevSecret returns the dev-mode secret kept in dataDir, creating it on
// first use, so dev tokens survive a restart but no two checkouts share one.
func DevSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "dev-secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= MinSecretBytes {
		return b, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("failed to read the dev secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	secret := []byte(hex.EncodeToString(raw))
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		return nil, fmt.Errorf("failed to write the dev secret: %w", err)
	}
	return secret, nil
}
