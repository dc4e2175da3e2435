// Package app is the tether application: its routes and pages. The browser
// entry and the server both call Register, so the server pre-renders exactly
// the pages the browser will run.
package app

import (
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/components"
	"tether/conn/wire"
)

// Options configure the pages.
type Options struct {
	// Status feeds every connection indicator.
	Status components.StatusSource
	// Dev shows the demo links on the home page.
	Dev bool
	// Connect opens the pages' sessions in the browser; nil on the server,
	// where pages show Status.
	Connect Connector
}

// DemoRoom is the booking room the dev home page links to.
const DemoRoom = "demo-booking"

// Routes are the paths Register serves, in the form go-app takes them.
const (
	routeHome      = "/"
	routeTherapist = "/therapist"
)

// routeChat takes the rooms of the protocol. Their length is left to
// wire.ValidRoom, which IsPage checks before the server hands a path to
// go-app: the router compiles its pattern in every page's start, and a
// counted repetition compiles into 64 copies of its class.
const routeChat = "^/chat/[A-Za-z0-9][A-Za-z0-9._-]*$"

// Register declares the routes on go-app's router with these options. Call
// it before app.RunWhenOnBrowser or before serving app.Handler. go-app's
// router is global: the routes are added once per process, and a later call
// only replaces the options (tests start several servers).
func Register(o Options) {
	if o.Status == nil {
		panic("app: Options.Status is required")
	}
	current.Store(&o)
	registerOnce.Do(func() {
		goapp.Route(routeHome, func() goapp.Composer {
			return &HomePage{Dev: current.Load().Dev}
		})
		goapp.RouteWithRegexp(routeChat, func() goapp.Composer {
			o := current.Load()
			return &ChatPage{Source: o.Status, Connect: o.Connect}
		})
		goapp.Route(routeTherapist, func() goapp.Composer {
			o := current.Load()
			return &TherapistPage{Source: o.Status, Connect: o.Connect}
		})
	})
}

// IsPage reports whether path is one of the pages Register declares, the
// same test go-app's router makes. The server hands go-app only these paths
// (and its own assets): go-app answers some others by fetching from the
// request's Host, which an attacker chooses.
func IsPage(path string) bool {
	_, opens := PageScope(path, nil)
	return path == routeHome || opens
}

// PageScope is the scope of the session the page at path opens (with its
// address's query), and false for a page that opens none: the browser entry
// starts opening it before go-app renders the page.
func PageScope(path string, q url.Values) (Scope, bool) {
	if path == routeTherapist {
		return scopeOf("", q), true
	}
	room, ok := strings.CutPrefix(path, "/chat/")
	if !ok || !wire.ValidRoom(room) {
		return Scope{}, false
	}
	return scopeOf(room, q), true
}

var (
	current      atomic.Pointer[Options]
	registerOnce sync.Once
)

// EnvDev is the go-app environment variable the server sets to "1" in dev
// mode, so the browser shows the same pages the server pre-rendered.
const EnvDev = "TETHER_DEV"

// EnvAuthURL is the go-app environment variable that holds a platform's
// -auth-url: the pages ask it for their tokens (contract v2).
const EnvAuthURL = "TETHER_AUTH_URL"
