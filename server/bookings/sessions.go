//go:build !wasm

package bookings

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/store"
)

// Errors of the session calls.
var (
	// ErrUnknownInvite: no booking has that invite.
	ErrUnknownInvite = errors.New("this invite is not known")
	// ErrRevoked: the operator revoked the invite or the session.
	ErrRevoked = errors.New("this invite or session was revoked")
	// ErrSessionExpired: no session, or it ended.
	ErrSessionExpired = errors.New("the session is over")
)

// SessionLife is how long a session lives without use; each renewal of its
// token starts it afresh (a sliding 30 days).
const SessionLife = 30 * 24 * time.Hour

// DefaultTokenTTL is how long a session's access token lives (-token-ttl).
const DefaultTokenTTL = 15 * time.Minute

// Token is an access token and how long it lives.
type Token struct {
	Token     string `json:"token"`
	ExpiresIn int64  `json:"expires_in"` // seconds
}

// Sessions opens the sessions of invites and issues their access tokens.
type Sessions struct {
	svc      *Service
	auth     *auth.Auth
	tokenTTL time.Duration
	opens    openLimits
}

// NewSessions returns the sessions of svc's bookings, whose tokens a signs
// for tokenTTL (DefaultTokenTTL when 0).
func NewSessions(svc *Service, a *auth.Auth, tokenTTL time.Duration) *Sessions {
	if tokenTTL <= 0 {
		tokenTTL = DefaultTokenTTL
	}
	return &Sessions{svc: svc, auth: a, tokenTTL: tokenTTL}
}

// SessionHash is what the store keeps of a session's cookie value.
func SessionHash(cookie string) []byte {
	h := sha256.Sum256([]byte("tether session\x00" + cookie))
	return h[:]
}

// Sid names a session in its tokens (auth.Claims.Sid): half its hash, in
// hex, which opens nothing.
func Sid(hash []byte) string { return hex.EncodeToString(hash[:min(len(hash), 16)]) }

// newCookie is a fresh session cookie's value: 256 random bits.
func newCookie() string {
	raw := make([]byte, 32)
	rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Open opens a session with an invite code: it returns the value of the
// session's cookie, a first token and the user. An unknown code is
// ErrUnknownInvite, a revoked one ErrRevoked, and a code that opened too
// many sessions of late an *OpenLimitError.
func (s *Sessions) Open(ctx context.Context, invite string) (cookie string, tok Token, user wire.User, err error) {
	b, side, err := s.svc.FindInvite(ctx, invite)
	if errors.Is(err, store.ErrNotFound) {
		return "", Token{}, wire.User{}, ErrUnknownInvite
	}
	if err != nil {
		return "", Token{}, wire.User{}, err
	}
	if b.Revoked(side) {
		return "", Token{}, wire.User{}, ErrRevoked
	}
	if wait := s.opens.take(b.Room+"\x00"+string(side), s.svc.now()); wait > 0 {
		return "", Token{}, wire.User{}, &OpenLimitError{After: wait}
	}
	cookie = newCookie()
	now := time.UnixMilli(s.svc.now().UnixMilli())
	se := store.Session{ID: SessionHash(cookie), User: b.User(side), Room: b.Room, Participant: side, Created: now, Expires: now.Add(SessionLife)}
	if err := s.svc.store.PutSession(ctx, se); err != nil {
		return "", Token{}, wire.User{}, err
	}
	// A revocation that ran meanwhile did not see this session: look
	// again, and end it if so.
	if b, err = s.svc.store.Booking(ctx, b.Room); err != nil || b.Revoked(side) {
		s.svc.store.EndSession(ctx, se.ID)
		if err == nil {
			err = ErrRevoked
		}
		return "", Token{}, wire.User{}, err
	}
	tok, err = s.token(se)
	return cookie, tok, se.User, err
}

// Renew returns a fresh token of the session of cookie and starts its life
// afresh; ErrSessionExpired or ErrRevoked when it is over.
func (s *Sessions) Renew(ctx context.Context, cookie string) (Token, wire.User, error) {
	se, err := s.live(ctx, cookie)
	if err != nil {
		return Token{}, wire.User{}, err
	}
	if err := s.svc.store.ExtendSession(ctx, se.ID, s.svc.now().Add(SessionLife)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Token{}, wire.User{}, ErrRevoked
		}
		return Token{}, wire.User{}, err
	}
	tok, err := s.token(se)
	return tok, se.User, err
}

// End ends the session of cookie (logging out); an unknown one is no error.
func (s *Sessions) End(ctx context.Context, cookie string) error {
	if cookie == "" {
		return nil
	}
	return s.svc.store.EndSession(ctx, SessionHash(cookie))
}

// live returns the session of cookie if it may go on.
func (s *Sessions) live(ctx context.Context, cookie string) (store.Session, error) {
	if cookie == "" || len(cookie) > 100 {
		return store.Session{}, ErrSessionExpired
	}
	se, err := s.svc.store.Session(ctx, SessionHash(cookie))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return se, ErrSessionExpired
	case err != nil:
		return se, err
	case se.Revoked:
		return se, ErrRevoked
	case !s.svc.now().Before(se.Expires):
		return se, ErrSessionExpired
	}
	return se, nil
}

// token signs an access token of se's user for se. On a dev node the
// token also names rooms, as dev tokens do: a customer's its booking's, a
// provider's every room. So a demo visitor who is not a side of the room's
// booking (a second customer trying the demo) is let in, and a therapist's
// inbox lists every room with messages, as in dev mode before sessions.
func (s *Sessions) token(se store.Session) (Token, error) {
	var rooms []string
	switch {
	case !s.auth.Dev():
	case se.Participant == store.Provider:
		rooms = []string{auth.AllRooms}
	case se.Room != "":
		rooms = []string{se.Room}
	}
	t, err := s.auth.IssueSession(se.User, Sid(se.ID), rooms, s.tokenTTL)
	if err != nil {
		return Token{}, fmt.Errorf("failed to sign a token: %w", err)
	}
	return Token{Token: t, ExpiresIn: int64(s.tokenTTL / time.Second)}, nil
}

// Summary is a booking as its participant sees it (GET /api/me).
type Summary = wire.BookingSummary

// Of returns the bookings of userID that userID may still see (not
// revoked on their side), as they see them: the soonest first.
func (s *Service) Of(ctx context.Context, userID string) ([]Summary, error) {
	list, err := s.store.BookingsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(list))
	for _, b := range list {
		side, ok := b.Side(userID)
		if !ok || b.Revoked(side) {
			continue
		}
		other := b.Provider
		if side == store.Provider {
			other = b.Customer
		}
		out = append(out, Summary{
			Room: b.Room, Title: b.Title, Place: b.Place, Status: b.Status, Other: other,
			StartsAt: b.StartsAt.UTC().Format(time.RFC3339), EndsAt: b.EndsAt.UTC().Format(time.RFC3339),
		})
	}
	return out, nil
}
