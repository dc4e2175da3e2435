//go:build js && wasm

package browser

import (
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"

	"tether/conn/tabs"
)

// The names of a user's and scope's shared connection: the Web Lock its
// leader holds and the BroadcastChannel its tabs talk on.
const (
	LeaderLockPrefix = "tether.v1.leader."
	TabChannelPrefix = "tether.v1.tabs."
)

// CanShareTabs reports whether the browser has what tabs need to share one
// connection: Web Locks and BroadcastChannel. Without them each tab runs
// its own service.
func CanShareTabs() bool {
	if _, ok := locks(); !ok {
		return false
	}
	_, err := global("BroadcastChannel")
	return err == nil
}

// TabBus is a BroadcastChannel: what one tab posts, the other tabs of the
// origin that opened the same name hear.
type TabBus struct {
	ch safejs.Value
}

var _ tabs.Bus = (*TabBus)(nil)

// NewTabBus opens the BroadcastChannel name.
func NewTabBus(name string) (*TabBus, error) {
	ctor, err := global("BroadcastChannel")
	if err != nil {
		return nil, err
	}
	ch, err := ctor.New(name)
	if err != nil {
		return nil, fmt.Errorf("failed to open the channel %s: %w", name, err)
	}
	return &TabBus{ch: ch}, nil
}

// Post sends data to the other tabs, as a string.
func (b *TabBus) Post(data []byte) error {
	_, err := b.ch.Call("postMessage", string(data))
	return err
}

// Listen calls fn with what the other tabs post until stop; stop also
// closes the channel.
func (b *TabBus) Listen(fn func([]byte)) (stop func()) {
	release, f, err := funcOf("tabs.message", func(args []safejs.Value) any {
		if len(args) == 0 {
			return nil
		}
		data, err := args[0].Get("data")
		if err != nil || data.Type() != safejs.TypeString {
			return nil
		}
		if s, err := data.String(); err == nil {
			fn([]byte(s))
		}
		return nil
	})
	if err != nil {
		return func() {}
	}
	if _, err := b.ch.Call("addEventListener", "message", f); err != nil {
		release()
		return func() {}
	}
	return func() {
		b.ch.Call("removeEventListener", "message", f)
		b.ch.Call("close")
		release()
	}
}

// LeaderLock elects the leader with the Web Lock Name: the tab that holds
// it leads; the others wait in the browser's queue, and the browser gives
// it to the next of them the moment the holder's tab closes, crashes or is
// discarded.
type LeaderLock struct {
	Name string
}

var _ tabs.Elector = LeaderLock{}

// Campaign asks for the lock; elected runs on its own goroutine once it is
// held. resign lets it go, or withdraws the request.
func (l LeaderLock) Campaign(elected func()) (resign func()) {
	nav, ok := locks()
	noop := func() {}
	if !ok {
		return noop
	}
	var (
		mu       sync.Mutex
		resolve  safejs.Value
		held     bool
		resigned bool
		releases []func()
	)
	releaseAll := func() {
		for _, r := range releases {
			r()
		}
	}
	controllerCtor, err := global("AbortController")
	if err != nil {
		return noop
	}
	controller, err := controllerCtor.New()
	if err != nil {
		return noop
	}
	signal, err := controller.Get("signal")
	if err != nil {
		return noop
	}
	promiseCtor, err := global("Promise")
	if err != nil {
		return noop
	}
	// The lock is held until the promise its callback returns settles:
	// resolved by resign, or never while the page lives.
	releaseExec, exec, err := funcOf("tabs.lock.hold", func(args []safejs.Value) any {
		mu.Lock()
		defer mu.Unlock()
		if len(args) > 0 {
			resolve = args[0]
		}
		if resigned {
			resolve.Invoke()
		}
		return nil
	})
	if err != nil {
		return noop
	}
	releases = append(releases, releaseExec)
	releaseGranted, granted, err := funcOf("tabs.lock.granted", func([]safejs.Value) any {
		p, err := promiseCtor.New(exec)
		if err != nil {
			return nil
		}
		mu.Lock()
		held = true
		gone := resigned
		mu.Unlock()
		if !gone {
			go elected()
		}
		return p
	})
	if err != nil {
		releaseAll()
		return noop
	}
	releases = append(releases, releaseGranted)
	// A withdrawn request rejects with an AbortError: expected, not an
	// uncaught rejection in the console.
	releaseCatch, catch, err := funcOf("tabs.lock.catch", func([]safejs.Value) any { return nil })
	if err != nil {
		releaseAll()
		return noop
	}
	releases = append(releases, releaseCatch)
	opts, err := safejs.ValueOf(map[string]any{"signal": safejs.Unsafe(signal)})
	if err != nil {
		releaseAll()
		return noop
	}
	p, err := nav.Call("request", l.Name, opts, granted)
	if err == nil {
		_, err = p.Call("catch", catch)
	}
	if err != nil {
		releaseAll()
		return noop
	}
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if resigned {
			return
		}
		resigned = true
		switch {
		case held && !resolve.IsUndefined():
			resolve.Invoke()
		case !held:
			controller.Call("abort")
		}
		// The callbacks stay for the page's life: the browser may still
		// call them once as the request ends.
	}
}
