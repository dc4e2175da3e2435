//go:build js && wasm

package browser

import (
	"log/slog"
	"math/rand/v2"
	"strings"

	"tether/conn"
)

// Options say where the server is and who the user is.
type Options struct {
	// BaseURL is the server (scheme://host[:port]); "" is the page's origin.
	BaseURL string
	// Tokens is the token source of the page.
	Tokens conn.TokenSource
	// User names the localStorage snapshot, so people sharing a browser
	// never mix their outboxes.
	User string
	// Mine is the page's scope: the rooms whose messages it may send for a
	// tab that ended (see Storage); nil is every room.
	Mine func(room string) bool
	// Adopt receives those messages while the page runs (Service.Adopt).
	Adopt func([]conn.OutboxEntry)
	// Logger receives the service's log; nil logs to the console.
	Logger *slog.Logger
	// Env is the page as the service sees it; nil is the page's own (Env).
	// A tab that leads others passes one with the tabs' visibility as one.
	Env conn.Environment
}

// NewPorts returns the service's ports in the browser.
func NewPorts(o Options) (conn.Ports, *HTTP, error) {
	base := o.BaseURL
	if base == "" {
		origin, err := Origin()
		if err != nil {
			return conn.Ports{}, nil, err
		}
		base = origin
	}
	base = strings.TrimSuffix(base, "/")
	h := &HTTP{BaseURL: base}
	var env conn.Environment = Env{}
	if o.Env != nil {
		env = o.Env
	}
	return conn.Ports{
		Clock:   conn.SystemClock{},
		Dialer:  &Dialer{URL: WebSocketURL(base)},
		HTTP:    h,
		Tokens:  o.Tokens,
		Env:     env,
		Storage: NewTabStorage(o.User, o.Mine, o.Adopt),
		Logger:  o.Logger,
		Rand:    rand.Float64,
	}, h, nil
}

// Origin is the page's origin, e.g. https://chat.example.
func Origin() (string, error) {
	loc, err := global("location")
	if err != nil {
		return "", err
	}
	return stringProp(loc, "origin")
}

// WebSocketURL is the WebSocket endpoint of the server at base: ws for
// http, wss for https.
func WebSocketURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + strings.TrimPrefix(base, "https://") + "/api/ws"
	case strings.HasPrefix(base, "http://"):
		return "ws://" + strings.TrimPrefix(base, "http://") + "/api/ws"
	}
	return base + "/api/ws"
}
