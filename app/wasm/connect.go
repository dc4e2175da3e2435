//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"tether/app"
	"tether/components"
	"tether/conn"
	"tether/conn/browser"
	"tether/conn/tabs"
	"tether/conn/wire"
)

// connector opens one session per scope for the life of the page: the
// stability service on the browser ports, its chat store, and
// window.tether for the console.
type connector struct {
	dev bool
	// authURL is a platform's token endpoint (-auth-url), or "".
	authURL string
	log     *slog.Logger

	mu       sync.Mutex
	sessions map[string]*app.Session
	opening  map[string][]func(*app.Session, error)
	// prefetching marks the opens Prefetch started; early keeps the error
	// of one that failed before the page asked.
	prefetching map[string]bool
	early       map[string]error
	expose      func()
}

func newConnector(dev bool, authURL string) *connector {
	return &connector{
		dev:     dev,
		authURL: authURL,
		// The service's log lines go to the browser console, as the
		// original's did.
		log:         slog.New(slog.NewTextHandler(browser.Console{}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		sessions:    map[string]*app.Session{},
		opening:     map[string][]func(*app.Session, error){},
		prefetching: map[string]bool{},
		early:       map[string]error{},
	}
}

// Connect opens the session of scope on its own goroutine, so the UI never
// waits for a token.
func (c *connector) Connect(scope app.Scope, ready func(*app.Session, error)) {
	key := tokenScope(scope)
	c.mu.Lock()
	if s := c.sessions[key]; s != nil {
		c.mu.Unlock()
		ready(s, nil)
		return
	}
	if err, ok := c.early[key]; ok {
		// The early open failed before the page asked (see Prefetch): the
		// page hears that, not the outcome of a second try without the
		// invite the first one took from the address.
		delete(c.early, key)
		c.mu.Unlock()
		ready(nil, err)
		return
	}
	waiting, busy := c.opening[key]
	c.opening[key] = append(waiting, ready)
	c.mu.Unlock()
	if busy {
		return
	}
	go func() {
		s, err := c.open(key, scope)
		c.mu.Lock()
		callbacks := c.opening[key]
		delete(c.opening, key)
		if err == nil {
			c.sessions[key] = s
		} else if len(callbacks) == 1 && c.prefetching[key] {
			// Only the prefetch asked: keep its outcome for the page.
			c.early[key] = err
		}
		delete(c.prefetching, key)
		c.mu.Unlock()
		for _, f := range callbacks {
			f(s, err)
		}
	}()
}

// Prefetch starts opening the session of the page at path and query before
// the page renders: the token's request and the connection are then on the
// way while go-app builds the page, which on a slow phone takes longer than
// a round trip. The page's own Connect joins it.
func (c *connector) Prefetch(path string, query url.Values) {
	scope, ok := app.PageScope(path, query)
	if !ok {
		return
	}
	c.mu.Lock()
	c.prefetching[tokenScope(scope)] = true
	c.mu.Unlock()
	c.Connect(scope, func(*app.Session, error) {})
}

func (c *connector) open(key string, scope app.Scope) (*app.Session, error) {
	origin, err := browser.Origin()
	if err != nil {
		return nil, err
	}
	h := &browser.HTTP{BaseURL: origin}
	tokens := &browser.Tokens{Scope: key}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	slot := sessionSlot(key)
	var open func(context.Context) (string, error)
	switch {
	case c.dev && scope.As != "" && scope.TTL != "":
		// Tokens as short as asked for, to watch renewals: plain dev
		// tokens, fetched afresh each time.
		tokens.Fetch = browser.DevTokens(h, devQuery(scope))
	case c.dev && scope.As != "":
		// The demo user gets a demo booking and a session, as a booking's
		// link would: the header shows the booking, the cookie renews. It
		// is opened when the tab has no token yet (a reload offline keeps
		// the one it has).
		tokens.Fetch = browser.SessionTokens(h, slot, browser.DemoSession(h, slot, devQuery(scope)))
	case c.authURL != "":
		// A platform that mints its own tokens hands them out (the page's
		// first may come in #token= too).
		if tokens.Fetch, err = browser.AuthURLTokens(c.authURL); err != nil {
			return nil, err
		}
	default:
		// A booking's link (#invite=CODE) opens a session, whose cookie
		// then hands out the tokens: on a renewal, after a 4401, and when
		// the installed app opens again with no link at all.
		if invite := browser.TakeFragmentInvite(); invite != "" {
			open = browser.InviteSession(h, slot, invite)
		}
		tokens.Fetch = browser.SessionTokens(h, slot, open)
	}
	if open != nil {
		// A new session outranks a token an earlier link left in this tab.
		tok, err := tokens.Fetch(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", app.ErrNoToken, err)
		}
		tokens.Use(tok)
	}
	tok, err := tokens.Token(ctx)
	if errors.Is(err, browser.ErrNoToken) {
		return nil, fmt.Errorf("%w: %w", app.ErrNoToken, err)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get a token: %w", err)
	}
	user, err := app.TokenUser(tok)
	if err != nil {
		return nil, err
	}
	// Messages a closed tab of this user left unsent are this page's to
	// send when they belong to its scope: its booking's room, or any room
	// for the inbox.
	mine := func(room string) bool { return scope.Room == "" || room == scope.Room }
	start := func(env conn.Environment) (*conn.Service, error) {
		var (
			adoptMu  sync.Mutex
			adopter  *conn.Service
			adoptLag []conn.OutboxEntry // taken over before the service existed
		)
		adopt := func(entries []conn.OutboxEntry) {
			adoptMu.Lock()
			s := adopter
			if s == nil {
				adoptLag = append(adoptLag, entries...)
			}
			adoptMu.Unlock()
			if s != nil {
				s.Adopt(entries)
			}
		}
		ports, _, err := browser.NewPorts(browser.Options{BaseURL: origin, Tokens: tokens, User: user.ID, Mine: mine, Adopt: adopt, Logger: c.log, Env: env})
		if err != nil {
			return nil, err
		}
		svc := conn.New(conn.Config{}, ports)
		adoptMu.Lock()
		adopter = svc
		lag := adoptLag
		adoptMu.Unlock()
		svc.Adopt(lag)
		return svc, nil
	}
	backend, err := c.backend(key, user.ID, start, func(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error) {
		return conn.ReadHistory(ctx, h, tokens, room, before, limit)
	})
	if err != nil {
		return nil, err
	}
	if h, ok := backend.(interface{ Settled() <-chan struct{} }); ok {
		// The page renders the session once this returns, and the browser
		// runs nothing else meanwhile: let the tab take the lock and dial
		// first, so the connection's round trips overlap the rendering.
		select {
		case <-h.Settled():
		case <-time.After(settleWait):
		}
	}
	c.mu.Lock()
	if c.expose != nil {
		c.expose()
	}
	if remove, err := browser.Expose(backend); err == nil {
		c.expose = remove
	}
	c.mu.Unlock()
	store := app.NewStore(backend, app.StoreOptions{UserID: user.ID, UserName: user.Name})
	return &app.Session{
		Status: backend,
		Outbox: backend,
		Store:  store,
		Alerts: app.NewAlerts(&notifier{}, store),
		User:   user,
		Rooms:  &roomLister{http: h, tokens: tokens},
		// Plain dev tokens name rooms, not bookings: their header stays plain.
		Bookings: bookingsOf(!(c.dev && scope.TTL != "") && c.authURL == "", h, tokens),
	}, nil
}

// backend is what a page's store and components run on. Where the browser
// can, the tabs of one user and scope share one connection (tabs.Hub): the
// tab holding the Web Lock runs the service, the others follow it over a
// BroadcastChannel. Elsewhere each tab runs its own service.
func (c *connector) backend(key, user string, start func(conn.Environment) (*conn.Service, error), history func(context.Context, string, int64, int) ([]wire.Message, error)) (sessionBackend, error) {
	if !browser.CanShareTabs() {
		return start(nil)
	}
	name := user + "." + sessionSlot(key)
	bus, err := browser.NewTabBus(browser.TabChannelPrefix + name)
	if err != nil {
		return start(nil)
	}
	return tabs.New(tabs.Config{
		Bus:     bus,
		Elector: browser.LeaderLock{Name: browser.LeaderLockPrefix + name},
		Start:   start,
		History: history,
		Env:     browser.Env{},
		Logger:  c.log,
	}), nil
}

// settleWait bounds how long a session's first render waits for its tab to
// lead or hear the leader (an answer from another tab's event loop).
const settleWait = 200 * time.Millisecond

// sessionBackend is a service, or a hub of tabs sharing one.
type sessionBackend interface {
	app.Backend
	components.StatusSource
	components.OutboxSource
	browser.Debuggable
}

// sessionSlot is the session slot of a token scope: the server keeps one
// cookie per slot, so a customer's booking and a therapist's inbox in one
// browser keep their own sessions.
func sessionSlot(key string) string { return strings.ReplaceAll(key, "/", ".") }

// tokenScope names a page's token: a booking room's, or the inbox's.
func tokenScope(s app.Scope) string {
	if s.Room == "" {
		return "inbox"
	}
	return "chat/" + s.Room
}

var notID = regexp.MustCompile(`[^a-z0-9]+`)

// devQuery asks the dev server for a token of the demo user the address
// names: ?as=customer|therapist&name=N on a chat gives a token for its
// room; on the inbox a therapist's token for every room.
func devQuery(s app.Scope) url.Values {
	role := wire.RoleCustomer
	if s.As == wire.RoleTherapist || s.As == wire.RolePlace {
		role = s.As
	}
	name := strings.TrimSpace(s.Name)
	if name == "" {
		name = "Demo " + role
	}
	id := strings.Trim(notID.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(id) > 40 {
		id = id[:40]
	}
	q := url.Values{"role": {role}, "name": {name}, "user": {role + "-" + id}}
	if s.Room != "" {
		q.Set("room", s.Room)
	}
	if s.TTL != "" {
		q.Set("ttl", s.TTL)
	}
	return q
}

// roomLister lists the inbox's rooms with the session's token, renewing it
// once when the server refuses it.
type roomLister struct {
	http   *browser.HTTP
	tokens conn.TokenSource
}

func (r *roomLister) ListRooms(ctx context.Context) ([]wire.RoomInfo, error) {
	tok, err := r.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	rooms, err := r.http.Rooms(ctx, tok, 0)
	if status, _ := conn.StatusOf(err); status == 401 {
		if tok, err = r.tokens.Refresh(ctx); err != nil {
			return nil, err
		}
		rooms, err = r.http.Rooms(ctx, tok, 0)
	}
	return rooms, err
}

// bookingLister reads the session's bookings (GET /api/me), renewing the
// token once when the server refuses it.
type bookingLister struct {
	http   *browser.HTTP
	tokens conn.TokenSource
}

// bookingsOf is the booking lister of a session's page, or nil.
func bookingsOf(session bool, h *browser.HTTP, tokens conn.TokenSource) app.BookingLister {
	if !session {
		return nil
	}
	return &bookingLister{http: h, tokens: tokens}
}

func (b *bookingLister) Bookings(ctx context.Context) ([]app.BookingInfo, error) {
	tok, err := b.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	me, err := b.http.Me(ctx, tok)
	if status, _ := conn.StatusOf(err); status == 401 {
		if tok, err = b.tokens.Refresh(ctx); err != nil {
			return nil, err
		}
		me, err = b.http.Me(ctx, tok)
	}
	if err != nil {
		return nil, err
	}
	out := make([]app.BookingInfo, 0, len(me.Bookings))
	for _, s := range me.Bookings {
		starts, err1 := time.Parse(time.RFC3339, s.StartsAt)
		ends, err2 := time.Parse(time.RFC3339, s.EndsAt)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, app.BookingInfo{Room: s.Room, Status: s.Status, Booking: components.Booking{
			Other: s.Other.Name, Title: s.Title, Starts: starts, Ends: ends, Place: s.Place,
		}})
	}
	return out, nil
}
