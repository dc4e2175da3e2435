//go:build js && wasm

package main

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hack-pad/safejs"

	"tether/app"
	"tether/conn/browser"
)

// notifier is app.Notifier on the browser's Notification API, the
// document's visibility and title, and the installed app's badge.
type notifier struct {
	once   sync.Once
	ignore safejs.Func // a promise's catch that drops the rejection

	// Notifications are shown one at a time, and one that waited behind a
	// newer one is dropped: a room's newest message is the one shown.
	show   sync.Mutex
	asked  atomic.Int64
	latest int64
}

var _ app.Notifier = (*notifier)(nil)

// alertsKey keeps the user's choice in localStorage: the browser's
// permission outlives a choice to turn alerts off.
const alertsKey = "tether.v1.alerts"

func global(name string) (safejs.Value, bool) {
	v, err := safejs.Global().Get(name)
	if err != nil || v.IsUndefined() || v.IsNull() {
		return safejs.Undefined(), false
	}
	return v, true
}

func (n *notifier) Supported() bool {
	_, ok := global("Notification")
	return ok
}

func (n *notifier) Permission() string {
	nt, ok := global("Notification")
	if !ok {
		return "denied"
	}
	p, err := nt.Get("permission")
	if err != nil {
		return "default"
	}
	s, _ := p.String()
	return s
}

func (n *notifier) RequestPermission() string {
	nt, ok := global("Notification")
	if !ok {
		return "denied"
	}
	// Whether the prompt failed, was refused or granted, the permission
	// now says the outcome.
	if promise, err := nt.Call("requestPermission"); err == nil {
		_, _ = browser.Await(context.Background(), promise)
	}
	return n.Permission()
}

// Notify shows the notification through the service worker where one
// controls the page: Chrome on Android has no Notification constructor, and
// the installed app's notifications outlive a closed window there (the
// worker's notificationclick opens the chat). Elsewhere, or when the worker
// refuses, the page shows it. It waits for the browser on a goroutine of
// its own: the caller is the connection's.
func (n *notifier) Notify(title, body, tag string, onClick func()) {
	seq := n.asked.Add(1)
	go func() {
		n.show.Lock()
		defer n.show.Unlock()
		if seq < n.latest {
			return
		}
		n.latest = seq
		if !n.notifyByWorker(title, body, tag) {
			n.notifyByPage(title, body, tag, onClick)
		}
	}()
}

// notifyByPage shows the notification with the page's Notification.
func (n *notifier) notifyByPage(title, body, tag string, onClick func()) {
	nt, ok := global("Notification")
	if !ok {
		return
	}
	opts, err := safejs.ValueOf(map[string]any{"body": body, "tag": tag, "renotify": true, "icon": "/web/icon-192.png"})
	if err != nil {
		return
	}
	note, err := nt.New(title, opts)
	if err != nil {
		return
	}
	// A click brings the page back and opens the room's chat. Either
	// callback may be the last (a newer notification of the room closes
	// this one): each releases both.
	var click, closed safejs.Func
	var once sync.Once
	release := func() {
		once.Do(func() {
			// Unhooked before released: a released function called from
			// JavaScript would stop the program.
			note.Set("onclick", safejs.Null())
			note.Set("onclose", safejs.Null())
			click.Release()
			closed.Release()
		})
	}
	click, err = safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		if win, ok := global("window"); ok {
			win.Call("focus")
		}
		release()
		note.Call("close")
		go onClick()
		return nil
	})
	if err != nil {
		return
	}
	closed, err = safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		release()
		return nil
	})
	if err != nil {
		click.Release()
		return
	}
	note.Set("onclick", click)
	note.Set("onclose", closed)
}

// notifyByWorker shows the notification through the page's service worker;
// false where none controls the page.
func (n *notifier) notifyByWorker(title, body, tag string) bool {
	nav, ok := global("navigator")
	if !ok {
		return false
	}
	sw, err := nav.Get("serviceWorker")
	if err != nil || sw.IsUndefined() || sw.IsNull() {
		return false
	}
	if c, err := sw.Get("controller"); err != nil || c.IsNull() || c.IsUndefined() {
		return false
	}
	// ready: the registration with an active worker, which showNotification
	// needs (a worker being replaced by a new release has one all along).
	p, err := sw.Get("ready")
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), workerWait)
	defer cancel()
	reg, err := browser.Await(ctx, p)
	if err != nil || reg.IsUndefined() || reg.IsNull() {
		return false
	}
	opts, err := safejs.ValueOf(map[string]any{
		"body": body, "tag": tag, "renotify": true, "icon": "/web/icon-192.png",
		"data": map[string]any{"url": chatURL(tag)},
	})
	if err != nil {
		return false
	}
	shown, err := reg.Call("showNotification", title, opts)
	if err != nil {
		return false
	}
	_, err = browser.Await(ctx, shown)
	return err == nil
}

// workerWait bounds how long a notification waits for the service worker
// before the page shows it itself.
const workerWait = 10 * time.Second

// chatURL is the page a click on room's notification opens: the inbox
// with the room, or the customer's chat.
func chatURL(room string) string {
	path := ""
	if loc, ok := global("location"); ok {
		if v, err := loc.Get("pathname"); err == nil {
			path, _ = v.String()
		}
	}
	if strings.HasPrefix(path, "/therapist") {
		return "/therapist?room=" + url.QueryEscape(room)
	}
	return "/chat/" + url.PathEscape(room)
}

// quiet drops a promise's rejection, which has nothing to tell the user.
func (n *notifier) quiet(p safejs.Value) {
	n.once.Do(func() {
		n.ignore, _ = safejs.FuncOf(func(safejs.Value, []safejs.Value) any { return nil })
	})
	p.Call("catch", n.ignore)
}

// countPrefix is the unread count a title starts with.
var countPrefix = regexp.MustCompile(`^\(\d+\) `)

func (n *notifier) SetCount(count int) {
	if doc, ok := global("document"); ok {
		if t, err := doc.Get("title"); err == nil {
			s, _ := t.String()
			s = countPrefix.ReplaceAllString(s, "")
			if count > 0 {
				s = "(" + strconv.Itoa(count) + ") " + s
			}
			doc.Set("title", s)
		}
	}
	nav, ok := global("navigator")
	if !ok {
		return
	}
	if count > 0 {
		if f, err := nav.Get("setAppBadge"); err == nil && !f.IsUndefined() {
			if p, err := nav.Call("setAppBadge", count); err == nil {
				n.quiet(p) // refused where the app is not installed
			}
		}
		return
	}
	if f, err := nav.Get("clearAppBadge"); err == nil && !f.IsUndefined() {
		if p, err := nav.Call("clearAppBadge"); err == nil {
			n.quiet(p)
		}
	}
}

func (n *notifier) Hidden() bool {
	doc, ok := global("document")
	if !ok {
		return false
	}
	v, err := doc.Get("visibilityState")
	if err != nil {
		return false
	}
	s, _ := v.String()
	return s == "hidden"
}

func (n *notifier) WatchVisibility(fn func(hidden bool)) (stop func()) {
	doc, ok := global("document")
	if !ok {
		return func() {}
	}
	f, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		go fn(n.Hidden())
		return nil
	})
	if err != nil {
		return func() {}
	}
	if _, err := doc.Call("addEventListener", "visibilitychange", f); err != nil {
		f.Release()
		return func() {}
	}
	return func() {
		doc.Call("removeEventListener", "visibilitychange", f)
		f.Release()
	}
}

func (n *notifier) Preference() (on, set bool) {
	ls, ok := global("localStorage")
	if !ok {
		return false, false
	}
	v, err := ls.Call("getItem", alertsKey)
	if err != nil || v.IsNull() || v.IsUndefined() {
		return false, false
	}
	s, _ := v.String()
	return s == "on", true
}

func (n *notifier) SetPreference(on bool) {
	ls, ok := global("localStorage")
	if !ok {
		return
	}
	v := "off"
	if on {
		v = "on"
	}
	ls.Call("setItem", alertsKey, v)
}
