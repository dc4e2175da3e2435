//go:build !wasm

// Package api routes tether's HTTP API under /api/: the WebSocket endpoint,
// the HTTP fallback, the rooms list, ping, the dev token and the test
// backend.
package api

import (
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/bookings"
	"tether/server/chat"
	"tether/server/faults"
	"tether/server/httpjson"
)

// Config is what the API serves.
type Config struct {
	Hub  *chat.Hub
	Auth *auth.Auth
	// Dev serves GET /api/dev/token and, with Sessions, POST
	// /api/dev/session.
	Dev bool
	// Faults, when not nil, serves the test backend at /api/test/faults and
	// applies its latency to every response.
	Faults *faults.Faults
	// AllowedOrigins are Origin host patterns (path.Match syntax, as for
	// WebSocket upgrades) whose pages may also call the HTTP API from
	// another origin: the CORS headers are sent to them alone.
	AllowedOrigins []string
	// Bookings and APIKey serve the operator API (/api/bookings…) to the
	// holder of the key (TETHER_API_KEY, at least MinAPIKeyBytes); without
	// either its routes answer 404.
	Bookings *bookings.Service
	APIKey   string
	// Sessions serves the browsers' sessions (/api/session…, /api/me) of
	// Bookings' bookings; SecureCookies marks their cookie Secure (the
	// public origin is https; a request over TLS is marked anyway).
	Sessions      *bookings.Sessions
	SecureCookies bool
	// OnRevoke is told of the sessions a revocation ended; OnCancel of a
	// cancelled booking's room. Either may be nil.
	OnRevoke func(sessions [][]byte)
	OnCancel func(room string)
	// Logger receives the API's failures; nil means slog.Default().
	Logger *slog.Logger
}

// New returns the handler for every path under /api/.
func New(c Config) http.Handler {
	mux := http.NewServeMux()
	// Ping tells a client that the network reaches the server even when
	// WebSocket does not; it must stay cheap and never be cached.
	mux.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	})
	if c.Hub != nil {
		mux.HandleFunc("GET /api/ws", c.Hub.ServeWS)
		mux.HandleFunc("GET /api/rooms", c.Hub.ServeRooms)
		mux.HandleFunc("GET /api/rooms/{room}/messages", c.Hub.ServeMessages)
		mux.HandleFunc("POST /api/rooms/{room}/messages", c.Hub.ServePost)
	}
	if c.Dev && c.Auth != nil {
		mux.Handle("GET /api/dev/token", devToken(c.Auth))
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	if c.Bookings != nil && len(c.APIKey) >= MinAPIKeyBytes {
		o := &operatorAPI{service: c.Bookings, key: sha256.Sum256([]byte(c.APIKey)), revoked: c.OnRevoke, cancelled: c.OnCancel, log: log}
		o.routes(mux)
	}
	if c.Bookings != nil && c.Sessions != nil && c.Auth != nil {
		s := &sessionAPI{sessions: c.Sessions, service: c.Bookings, auth: c.Auth, secure: c.SecureCookies, dev: c.Dev && c.Auth.Dev(), log: log}
		s.routes(mux)
	}
	if c.Faults != nil {
		mux.Handle("/api/test/faults", c.Faults)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// A path that exists for another method answers 405, not 404.
		if _, pattern := mux.Handler(withMethod(r, http.MethodGet)); pattern != "" && pattern != "/api/" {
			w.Header().Set("Allow", "GET, HEAD")
			WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		if _, pattern := mux.Handler(withMethod(r, http.MethodPost)); pattern != "" && pattern != "/api/" {
			w.Header().Set("Allow", "POST")
			WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		WriteError(w, http.StatusNotFound, wire.CodeNotFound, "no such API path: "+r.URL.Path)
	})
	var h http.Handler = mux
	if c.Hub != nil {
		h = writeDeadlines(c.Hub.WriteTimeout(), h)
	}
	if c.Faults != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Frames of /api/ws are delayed one by one; the fault switch itself
			// must answer at once so a test can turn the latency off.
			if r.URL.Path != "/api/ws" && !strings.HasPrefix(r.URL.Path, "/api/test/") {
				c.Faults.Delay(r.Context())
			}
			mux.ServeHTTP(w, r)
		})
	}
	if len(c.AllowedOrigins) == 0 {
		return h
	}
	return cors(c.AllowedOrigins, h)
}

// cors lets pages of the allowed origins call the API: it answers their
// preflight requests and marks their answers readable, with Retry-After
// exposed so a client there honours it. Other origins get no CORS header,
// and the browser keeps the answer from them.
func cors(patterns []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !originAllowed(origin, patterns) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Retry-After")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed matches the host of origin (host:port) against patterns the
// way WebSocket upgrades are matched.
func originAllowed(origin string, patterns []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return true
		}
	}
	return false
}

func withMethod(r *http.Request, method string) *http.Request {
	r2 := *r
	r2.Method = method
	return &r2
}

// WriteError answers with status and the protocol's JSON error body.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	httpjson.Write(w, status, wire.ErrorBody{Code: code, Message: message})
}

// writeInternal answers 503 with Retry-After 1 and message to a request that
// failed for err, not for what it asked, and logs err as logMsg, unless
// the client went away: then err is only the cancel.
func writeInternal(w http.ResponseWriter, r *http.Request, log *slog.Logger, logMsg string, err error, message string) {
	if r.Context().Err() == nil {
		log.Error(logMsg, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Retry-After", "1")
	WriteError(w, http.StatusServiceUnavailable, wire.CodeInternal, message)
}

// devUser reads the demo user of a dev request's query (role, user, name)
// and its room, if any; msg says what is wrong with them.
func devUser(q url.Values) (user wire.User, rooms []string, msg string) {
	role := q.Get("role")
	if role == "" {
		role = wire.RoleCustomer
	}
	if !wire.ValidRole(role) {
		return user, nil, "role must be customer, therapist or place"
	}
	id := q.Get("user")
	if id == "" {
		id = role + "-demo"
	}
	if !wire.ValidClientID(id) {
		return user, nil, "user must be 1-64 letters, digits or ._:-"
	}
	name := strings.TrimSpace(q.Get("name"))
	if name == "" {
		name = id
	}
	if len(name) > 100 {
		return user, nil, "name is over 100 bytes"
	}
	if room := q.Get("room"); room != "" {
		if !wire.ValidRoom(room) {
			return user, nil, "invalid room"
		}
		rooms = []string{room}
	}
	return wire.User{ID: id, Name: name, Role: role}, rooms, ""
}

// devTokenTTL is how long a dev token lasts unless ttl asks otherwise.
const devTokenTTL = 24 * time.Hour

// devToken answers GET /api/dev/token?room=R&user=U&name=N&role=X[&ttl=S]
// with a signed token. Without room, a therapist gets every room ("*"). a is
// a dev node's: its tokens name the dev issuer, which a node without -dev
// refuses, and live at most auth.MaxDevLifetime.
func devToken(a *auth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		user, rooms, msg := devUser(q)
		if msg != "" {
			WriteError(w, http.StatusBadRequest, wire.CodeBadFrame, msg)
			return
		}
		if len(rooms) == 0 {
			if user.Role == wire.RoleCustomer {
				WriteError(w, http.StatusBadRequest, wire.CodeBadFrame, "a customer token needs a room")
				return
			}
			rooms = []string{auth.AllRooms}
		}
		ttl := devTokenTTL
		if s := q.Get("ttl"); s != "" {
			secs, err := strconv.Atoi(s)
			if err != nil || secs < 1 || secs > int(auth.MaxDevLifetime/time.Second) {
				WriteError(w, http.StatusBadRequest, wire.CodeBadFrame, "ttl must be 1 to 604800 seconds")
				return
			}
			ttl = time.Duration(secs) * time.Second
		}
		token, err := a.Issue(user, rooms, ttl)
		if err != nil {
			WriteError(w, http.StatusInternalServerError, wire.CodeInternal, "failed to sign the token")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(wire.DevToken{Token: token})
	})
}
