//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hack-pad/safejs"

	"tether/conn"
)

// Env is the page around the service: navigator.onLine, the page's
// visibility, and the events that change them.
type Env struct{}

var _ conn.Environment = Env{}

// Online is navigator.onLine: false means surely offline, true only maybe
// online (a captive portal, a dead Wi-Fi still count as online).
func (Env) Online() bool {
	nav, err := global("navigator")
	if err != nil {
		return true
	}
	on, err := nav.Get("onLine")
	if err != nil || on.Type() != safejs.TypeBoolean {
		return true
	}
	b, _ := on.Bool()
	return b
}

// Visible reports document.visibilityState == "visible".
func (Env) Visible() bool {
	doc, err := global("document")
	if err != nil {
		return true
	}
	state, _ := stringProp(doc, "visibilityState")
	return state == "" || state == "visible"
}

// Watch reports online/offline (window), visibilitychange (document),
// pageshow from the back-forward cache and pagehide (window), freeze and
// resume (document, where the browser has them), and a wake from sleep
// (EnvResume, see conn.DriftWatch) until stop is called.
func (e Env) Watch(fn func(conn.EnvEvent)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	win, errW := global("window")
	doc, errD := global("document")
	if errW != nil || errD != nil {
		cancel()
		return func() {}
	}
	send := func(ev conn.EnvEvent) func(safejs.Value) {
		return func(safejs.Value) { fn(ev) }
	}
	err := errors.Join(
		listen(ctx, win, "online", send(conn.EnvOnline)),
		listen(ctx, win, "offline", send(conn.EnvOffline)),
		listen(ctx, doc, "visibilitychange", func(safejs.Value) {
			if e.Visible() {
				fn(conn.EnvVisible)
			} else {
				fn(conn.EnvHidden)
			}
		}),
		listen(ctx, win, "pageshow", func(ev safejs.Value) {
			// Only a page restored from the back-forward cache needs
			// anything: its socket was closed while it sat there.
			if persisted, _ := boolProp(ev, "persisted"); persisted {
				fn(conn.EnvPageShow)
			}
		}),
		listen(ctx, win, "pagehide", func(ev safejs.Value) {
			if persisted, _ := boolProp(ev, "persisted"); persisted {
				fn(conn.EnvFreeze)
			}
		}),
		// freeze and resume exist in Chromium only; listening elsewhere is
		// harmless.
		listen(ctx, doc, "freeze", send(conn.EnvFreeze)),
		listen(ctx, doc, "resume", send(conn.EnvResume)),
	)
	if err != nil {
		// A listener that could not be added leaves the others working.
		slog.Warn(conn.LogPrefix+"Some page events are not watched", "err", err)
	}
	go watchSleep(ctx, func() { fn(conn.EnvResume) })
	return cancel
}

// sleepCheckEvery is how often watchSleep compares the clocks: a wake is
// seen within about that long.
const sleepCheckEvery = time.Second

// watchSleep reports a wake from a system sleep, which no page event
// announces, until ctx ends: the wall clock (Date.now) ran ahead of the
// monotonic one (performance.now), which stops with the machine.
func watchSleep(ctx context.Context, woke func()) {
	date, err1 := global("Date")
	perf, err2 := global("performance")
	if err1 != nil || err2 != nil {
		return
	}
	read := func() (wall, mono float64, ok bool) {
		w, err1 := date.Call("now")
		m, err2 := perf.Call("now")
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		wall, err1 = w.Float()
		mono, err2 = m.Float()
		return wall, mono, err1 == nil && err2 == nil
	}
	var d conn.DriftWatch
	t := time.NewTicker(sleepCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if wall, mono, ok := read(); ok && d.Observe(wall, mono) {
			woke()
		}
	}
}
