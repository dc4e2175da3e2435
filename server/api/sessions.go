//go:build !wasm

package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/bookings"
	"tether/server/httpjson"
)

// SessionCookie is the name of the session's cookie: HttpOnly, SameSite
// Strict, on /api/session only (the token routes), Secure over HTTPS. A
// request may name a slot (?slot=S): its session's cookie is then
// SessionCookie + "." + S, so that one browser holds several sessions (a
// customer's two bookings, a customer's and a therapist's tab of the demo)
// without one replacing another.
const SessionCookie = "tether_session"

// validSlot is what a slot may be: cookie-name characters only.
var validSlot = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

// cookieName is the session cookie's name for r's slot; ok is false when
// the slot is not one.
func cookieName(r *http.Request) (name string, ok bool) {
	slot := r.URL.Query().Get("slot")
	if slot == "" {
		return SessionCookie, true
	}
	if !validSlot.MatchString(slot) {
		return "", false
	}
	return SessionCookie + "." + slot, true
}

// sessionPath is the cookie's path: only the session's own routes see it.
const sessionPath = "/api/session"

// maxSessionBytes bounds the body of POST /api/session.
const maxSessionBytes = 4 << 10

// sessionAPI serves the sessions of contract v2 to browsers.
type sessionAPI struct {
	sessions *bookings.Sessions
	service  *bookings.Service
	auth     *auth.Auth
	// secure marks the cookie Secure: the public origin is https.
	secure bool
	// dev serves POST /api/dev/session (dev mode's ?as= pages).
	dev bool
	log *slog.Logger
}

func (s *sessionAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/session", s.withSlot(s.open))
	mux.HandleFunc("POST /api/session/token", s.withSlot(s.renew))
	mux.HandleFunc("DELETE /api/session", s.withSlot(s.end))
	mux.HandleFunc("GET /api/me", s.me)
	if s.dev {
		mux.HandleFunc("POST /api/dev/session", s.withSlot(s.openDemo))
	}
}

// withSlot refuses a request whose slot is not one, and gives h the name
// of its session's cookie.
func (s *sessionAPI) withSlot(h func(w http.ResponseWriter, r *http.Request, cookie string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, ok := cookieName(r)
		if !ok {
			WriteError(w, http.StatusBadRequest, wire.CodeBadFrame, "slot must be 1-80 letters, digits or ._- (starting with a letter or digit)")
			return
		}
		h(w, r, name)
	}
}

// sessionAnswer is the body of POST /api/session and its token route.
type sessionAnswer struct {
	bookings.Token
	User *wire.User `json:"user,omitempty"`
}

func (s *sessionAPI) open(w http.ResponseWriter, r *http.Request, name string) {
	var req struct {
		Invite string `json:"invite"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSessionBytes))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.Invite == "" {
		WriteError(w, http.StatusBadRequest, wire.CodeBadFrame, `the body must be {"invite":"CODE"}, the code of the link`)
		return
	}
	cookie, tok, user, err := s.sessions.Open(r.Context(), req.Invite)
	s.answerSession(w, r, name, cookie, tok, user, err)
}

// answerSession answers a session opened or renewed: the slot's cookie
// set to live another SessionLife, and the token; or err.
func (s *sessionAPI) answerSession(w http.ResponseWriter, r *http.Request, name, cookie string, tok bookings.Token, user wire.User, err error) {
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	s.setCookie(w, r, name, cookie, bookings.SessionLife)
	httpjson.Write(w, http.StatusOK, sessionAnswer{Token: tok, User: &user})
}

// openDemo answers POST /api/dev/session?role=R&name=N&user=U&room=ROOM
// (dev mode only): a demo booking for the room if it has none, and a
// session for the user the query names, answered as POST /api/session.
func (s *sessionAPI) openDemo(w http.ResponseWriter, r *http.Request, name string) {
	user, rooms, msg := devUser(r.URL.Query())
	if msg == "" && len(rooms) == 0 && user.Role == wire.RoleCustomer {
		msg = "a customer's demo session needs a room"
	}
	if msg != "" {
		WriteError(w, http.StatusBadRequest, wire.CodeBadFrame, msg)
		return
	}
	room := ""
	if len(rooms) > 0 {
		room = rooms[0]
	}
	cookie, tok, err := s.sessions.OpenDemo(r.Context(), user, room)
	s.answerSession(w, r, name, cookie, tok, user, err)
}

func (s *sessionAPI) renew(w http.ResponseWriter, r *http.Request, name string) {
	c, err := r.Cookie(name)
	if err != nil {
		s.fail(w, r, name, bookings.ErrSessionExpired)
		return
	}
	tok, user, err := s.sessions.Renew(r.Context(), c.Value)
	// The cookie's own life slides with the session's.
	s.answerSession(w, r, name, c.Value, tok, user, err)
}

func (s *sessionAPI) end(w http.ResponseWriter, r *http.Request, name string) {
	if c, err := r.Cookie(name); err == nil {
		if err := s.sessions.End(r.Context(), c.Value); err != nil {
			s.fail(w, r, name, err)
			return
		}
	}
	s.setCookie(w, r, name, "", -1)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (s *sessionAPI) me(w http.ResponseWriter, r *http.Request) {
	token, ok := auth.BearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tether"`)
		WriteError(w, http.StatusUnauthorized, wire.CodeUnauthorized, "an Authorization: Bearer token is required")
		return
	}
	claims, err := s.auth.Verify(token)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tether", error="invalid_token"`)
		msg := "invalid token"
		if errors.Is(err, auth.ErrExpiredToken) {
			msg = "token expired"
		}
		WriteError(w, http.StatusUnauthorized, wire.CodeUnauthorized, msg)
		return
	}
	list, err := s.service.Of(r.Context(), claims.Subject)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	httpjson.Write(w, http.StatusOK, wire.Me{User: claims.User(), Bookings: list})
}

// setCookie sets (or with a negative life, clears) the session's cookie
// of that name.
func (s *sessionAPI) setCookie(w http.ResponseWriter, r *http.Request, name, value string, life time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: sessionPath,
		MaxAge:   int(life / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.secure || r.TLS != nil,
	})
}

// fail answers an error of the session calls; an ended session's cookie
// (name, unless "") is cleared.
func (s *sessionAPI) fail(w http.ResponseWriter, r *http.Request, name string, err error) {
	var limited *bookings.OpenLimitError
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.After.Seconds()))))
		WriteError(w, http.StatusTooManyRequests, wire.CodeRateLimited, limited.Error())
	case errors.Is(err, bookings.ErrUnknownInvite):
		WriteError(w, http.StatusNotFound, wire.CodeNotFound, "this invite is not known: open the link from your booking confirmation again")
	case errors.Is(err, bookings.ErrInvalid):
		WriteError(w, http.StatusBadRequest, wire.CodeBadFrame, err.Error())
	case errors.Is(err, bookings.ErrRevoked):
		s.clear(w, r, name)
		WriteError(w, http.StatusUnauthorized, wire.CodeRevoked, "this access was revoked: ask for a new link")
	case errors.Is(err, bookings.ErrSessionExpired):
		s.clear(w, r, name)
		WriteError(w, http.StatusUnauthorized, wire.CodeSessionExpired, "your session is over: open the link from your booking confirmation again")
	default:
		writeInternal(w, r, s.log, "session request failed", err, "the session could not be read; try again")
	}
}

// clear clears the cookie of that name, unless "".
func (s *sessionAPI) clear(w http.ResponseWriter, r *http.Request, name string) {
	if name != "" {
		s.setCookie(w, r, name, "", -1)
	}
}
