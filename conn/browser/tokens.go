//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"tether/conn"
	"tether/conn/wire"
)

// TokenKeyPrefix starts the sessionStorage key of a page's token.
const TokenKeyPrefix = "tether.v1.token."

// ErrNoToken means the page has no token and no way to get one: the user
// must open the link from the booking again.
var ErrNoToken = errors.New("no token: open the chat from your booking link")

// Tokens is the token of the page. The booking site links to
// /chat/{room}#token=T; the token is moved from the fragment into
// sessionStorage (so a reload keeps it and the address bar no longer shows
// it). Fetch, when set, gets a new one (dev mode's /api/dev/token).
type Tokens struct {
	// Scope names the token in sessionStorage, e.g. the page's path: one
	// tab may hold a customer's and a therapist's page one after the other.
	Scope string
	// Fetch gets a fresh token; nil means the page's token is all there is.
	Fetch func(ctx context.Context) (string, error)

	mu    sync.Mutex
	token string
}

var _ conn.TokenSource = (*Tokens)(nil)

// Token returns the current token: the one in hand, else the page's, else a
// fetched one.
func (t *Tokens) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	tok := t.token
	t.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	if tok = t.fromPage(); tok != "" {
		t.set(tok)
		return tok, nil
	}
	if t.Fetch == nil {
		return "", ErrNoToken
	}
	return t.fetch(ctx)
}

// Refresh returns a new token after the server refused the current one:
// one from a newer link in the address bar, or a fetched one.
func (t *Tokens) Refresh(ctx context.Context) (string, error) {
	t.mu.Lock()
	old := t.token
	t.mu.Unlock()
	if tok := t.fromPage(); tok != "" && tok != old {
		t.set(tok)
		return tok, nil
	}
	if t.Fetch == nil {
		t.forget()
		return "", ErrNoToken
	}
	return t.fetch(ctx)
}

// Use makes tok the page's token, in place of any other.
func (t *Tokens) Use(tok string) { t.set(tok) }

func (t *Tokens) fetch(ctx context.Context) (string, error) {
	tok, err := t.Fetch(ctx)
	if err != nil {
		return "", err
	}
	if tok == "" {
		return "", ErrNoToken
	}
	t.set(tok)
	return tok, nil
}

func (t *Tokens) key() string { return TokenKeyPrefix + t.Scope }

func (t *Tokens) set(tok string) {
	t.mu.Lock()
	t.token = tok
	t.mu.Unlock()
	if ss, err := webStorage("sessionStorage"); err == nil {
		ss.Call("setItem", t.key(), tok)
	}
}

func (t *Tokens) forget() {
	t.mu.Lock()
	t.token = ""
	t.mu.Unlock()
	if ss, err := webStorage("sessionStorage"); err == nil {
		ss.Call("removeItem", t.key())
	}
}

// fromPage takes #token=… out of the address bar (keeping it in
// sessionStorage), or reads the token kept there earlier.
func (t *Tokens) fromPage() string {
	if tok := TakeFragmentToken(); tok != "" {
		return tok
	}
	ss, err := webStorage("sessionStorage")
	if err != nil {
		return ""
	}
	v, err := ss.Call("getItem", t.key())
	if err != nil || v.IsNull() || v.IsUndefined() {
		return ""
	}
	s, _ := v.String()
	return s
}

// TakeFragmentToken returns the token in the URL fragment (#token=T) and
// removes it from the address bar, so it is neither bookmarked nor shared
// by accident. It returns "" when there is none.
func TakeFragmentToken() string { return takeFragment("token") }

// TakeFragmentInvite takes #invite=CODE (a booking's invite link, contract
// v2) out of the address bar, so that neither a reload nor a shared
// screenshot shows it, and returns the code ("" when there is none).
func TakeFragmentInvite() string { return takeFragment("invite") }

// takeFragment takes the value of key out of the address bar's fragment,
// keeping the rest of it.
func takeFragment(key string) string {
	loc, err := global("location")
	if err != nil {
		return ""
	}
	hash, _ := stringProp(loc, "hash")
	values, err := url.ParseQuery(strings.TrimPrefix(hash, "#"))
	if err != nil {
		return ""
	}
	v := values.Get(key)
	if v == "" {
		return ""
	}
	values.Del(key)
	rest := ""
	if len(values) > 0 {
		rest = "#" + values.Encode()
	}
	path, _ := stringProp(loc, "pathname")
	search, _ := stringProp(loc, "search")
	if hist, err := global("history"); err == nil {
		state, _ := hist.Get("state")
		hist.Call("replaceState", state, "", path+search+rest)
	}
	return v
}

// SessionTokens gets the tokens of the browser's session in slot (contract
// v2; a slot keeps one browser's sessions apart, e.g. "inbox" or
// "chat.ROOM"): the first call with open set opens the session with it (an
// invite's, dev mode's demo), which sets its cookie; every other asks the
// session for a fresh token (POST /api/session/token, with the cookie). A
// session that is over or revoked is an *conn.HTTPError of 401 with code
// session_expired or revoked.
func SessionTokens(h *HTTP, slot string, open func(ctx context.Context) (string, error)) func(ctx context.Context) (string, error) {
	var mu sync.Mutex
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		first := open
		mu.Unlock()
		if first != nil {
			tok, err := first(ctx)
			if err != nil {
				return "", err
			}
			mu.Lock()
			open = nil // used: the cookie speaks for it now
			mu.Unlock()
			markSession(slot, true)
			return tok, nil
		}
		// A page opened with no link in a browser that never opened a
		// session has nothing to ask for: no request, no 401 in its
		// console, and the page says to open the booking's link.
		if !sessionMarked(slot) {
			return "", ErrNoToken
		}
		var ans struct {
			Token string `json:"token"`
		}
		_, err := h.withCookies(ctx, "POST", "/api/session/token?"+slotQuery(slot).Encode(), nil, &ans)
		if status, _ := conn.StatusOf(err); status == 401 {
			markSession(slot, false) // over or revoked: the page says which
		}
		if err != nil {
			return "", err
		}
		return ans.Token, nil
	}
}

// InviteSession opens the session of a booking's invite code in slot (POST
// /api/session) and returns its first token.
func InviteSession(h *HTTP, slot, code string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		var ans struct {
			Token string `json:"token"`
		}
		_, err := h.withCookies(ctx, "POST", "/api/session?"+slotQuery(slot).Encode(), map[string]string{"invite": code}, &ans)
		return ans.Token, err
	}
}

// DemoSession opens a dev-mode demo session in slot (POST
// /api/dev/session) for the user query names (role, user, name, room):
// the server makes the room a demo booking if it has none.
func DemoSession(h *HTTP, slot string, query url.Values) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		q := slotQuery(slot)
		for k, v := range query {
			q[k] = v
		}
		var ans struct {
			Token string `json:"token"`
		}
		_, err := h.withCookies(ctx, "POST", "/api/dev/session?"+q.Encode(), nil, &ans)
		return ans.Token, err
	}
}

func slotQuery(slot string) url.Values {
	if slot == "" {
		return url.Values{}
	}
	return url.Values{"slot": {slot}}
}

// AuthURLTokens gets the page's tokens from a platform's endpoint (the
// server's -auth-url, contract v2): GET with the platform's own cookies
// (credentials: include; the platform answers CORS for this origin),
// answering {"token":T}. The platform mints the tokens with TETHER_SECRET.
func AuthURLTokens(authURL string) (func(ctx context.Context) (string, error), error) {
	u, err := url.Parse(authURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the auth URL %q is not an absolute URL", authURL)
	}
	h := &HTTP{BaseURL: u.Scheme + "://" + u.Host}
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return func(ctx context.Context) (string, error) {
		var ans struct {
			Token string `json:"token"`
		}
		if _, err := h.fetch(ctx, "GET", path, "", "include", nil, &ans); err != nil {
			return "", err
		}
		return ans.Token, nil
	}, nil
}

// sessionKey starts the localStorage key that says this browser opened a
// session in a slot (its cookie is HttpOnly: the page cannot see it). It
// holds no secret; the installed app reopens with it.
const sessionKey = "tether.v1.session."

func markSession(slot string, on bool) {
	ls, err := webStorage("localStorage")
	if err != nil {
		return
	}
	if on {
		ls.Call("setItem", sessionKey+slot, "1")
	} else {
		ls.Call("removeItem", sessionKey+slot)
	}
}

func sessionMarked(slot string) bool {
	ls, err := webStorage("localStorage")
	if err != nil {
		return false
	}
	v, err := ls.Call("getItem", sessionKey+slot)
	if err != nil || v.IsNull() || v.IsUndefined() {
		return false
	}
	s, err := v.String()
	return err == nil && s == "1"
}

// DevTokens fetches dev-mode tokens (GET /api/dev/token) with query, e.g.
// room, user, name and role. The server answers only with -dev.
func DevTokens(h *HTTP, query url.Values) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		var tok wire.DevToken
		if _, err := h.do(ctx, "GET", "/api/dev/token?"+query.Encode(), "", nil, &tok); err != nil {
			return "", err
		}
		return tok.Token, nil
	}
}
