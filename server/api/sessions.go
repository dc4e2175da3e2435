//go:build !wasm

package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/bookings"
)

// SessionCookie is the name of the session's cookie: HttpOnly, SameSite
// Strict, on /api/session only (the token routes), Secure over HTTPS.
const SessionCookie = "tether_session"

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
	log    *slog.Logger
}

func (s *sessionAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/session", s.open)
	mux.HandleFunc("POST /api/session/token", s.renew)
	mux.HandleFunc("DELETE /api/session", s.end)
	mux.HandleFunc("GET /api/me", s.me)
}

// sessionAnswer is the body of POST /api/session and its token route.
type sessionAnswer struct {
	bookings.Token
	User *wire.User `json:"user,omitempty"`
}

func (s *sessionAPI) open(w http.ResponseWriter, r *http.Request) {
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
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, r, cookie, bookings.SessionLife)
	writeJSON(w, http.StatusOK, sessionAnswer{Token: tok, User: &user})
}

func (s *sessionAPI) renew(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		s.fail(w, r, bookings.ErrSessionExpired)
		return
	}
	tok, user, err := s.sessions.Renew(r.Context(), c.Value)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The cookie's own life slides with the session's.
	s.setCookie(w, r, c.Value, bookings.SessionLife)
	writeJSON(w, http.StatusOK, sessionAnswer{Token: tok, User: &user})
}

func (s *sessionAPI) end(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.sessions.End(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.setCookie(w, r, "", -1)
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
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.Me{User: claims.User(), Bookings: list})
}

// setCookie sets (or with a negative life, clears) the session's cookie.
func (s *sessionAPI) setCookie(w http.ResponseWriter, r *http.Request, value string, life time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: value, Path: sessionPath,
		MaxAge:   int(life / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.secure || r.TLS != nil,
	})
}

// fail answers an error of the session calls.
func (s *sessionAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, bookings.ErrUnknownInvite):
		WriteError(w, http.StatusNotFound, wire.CodeNotFound, "this invite is not known: open the link from your booking confirmation again")
	case errors.Is(err, bookings.ErrRevoked):
		s.setCookie(w, r, "", -1)
		WriteError(w, http.StatusUnauthorized, wire.CodeRevoked, "this access was revoked: ask for a new link")
	case errors.Is(err, bookings.ErrSessionExpired):
		s.setCookie(w, r, "", -1)
		WriteError(w, http.StatusUnauthorized, wire.CodeSessionExpired, "your session is over: open the link from your booking confirmation again")
	default:
		if r.Context().Err() == nil {
			s.log.Error("session request failed", "path", r.URL.Path, "err", err)
		}
		w.Header().Set("Retry-After", "1")
		WriteError(w, http.StatusServiceUnavailable, wire.CodeInternal, "the session could not be read; try again")
	}
}
