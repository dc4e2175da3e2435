//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/hack-pad/safejs"
)

// live counts the JavaScript callbacks and listeners this package holds;
// tests read it to prove that none outlives Close.
var live atomic.Int64

// funcOf wraps fn for JavaScript and counts it until released. A panic in
// fn is recovered and logged: JavaScript cannot catch a Go panic, and one
// would stop the whole program.
func funcOf(name string, fn func(args []safejs.Value) any) (release func(), v safejs.Value, err error) {
	f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) (result any) {
		defer func() {
			if r := recover(); r != nil {
				slog.Error("panic in a browser callback", "callback", name, "panic", fmt.Sprint(r))
				result = nil
			}
		}()
		return fn(args)
	})
	if err != nil {
		return nil, safejs.Undefined(), fmt.Errorf("failed to make the %s callback: %w", name, err)
	}
	live.Add(1)
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			f.Release()
			live.Add(-1)
		}
	}, f.Value(), nil
}

// listen adds a listener for event on target until ctx ends; then the
// listener is removed and its function released. fn runs on the page's
// event loop: it must only hand the event on and return.
func listen(ctx context.Context, target safejs.Value, event string, fn func(ev safejs.Value)) error {
	release, f, err := funcOf(event, func(args []safejs.Value) any {
		ev := safejs.Undefined()
		if len(args) > 0 {
			ev = args[0]
		}
		fn(ev)
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := target.Call("addEventListener", event, f); err != nil {
		release()
		return fmt.Errorf("failed to add a %s listener: %w", event, err)
	}
	go func() {
		<-ctx.Done()
		target.Call("removeEventListener", event, f)
		release()
	}()
	return nil
}

// ErrNoBrowser is returned where a browser object the port needs is missing
// (a worker, an old browser).
var ErrNoBrowser = errors.New("browser API not available")

// global returns the global object name, or ErrNoBrowser.
func global(name string) (safejs.Value, error) {
	v, err := safejs.Global().Get(name)
	if err != nil {
		return safejs.Undefined(), err
	}
	if v.IsUndefined() || v.IsNull() {
		return safejs.Undefined(), fmt.Errorf("%w: no %s", ErrNoBrowser, name)
	}
	return v, nil
}

// Await waits for promise to settle or ctx to end, and returns the value it
// resolved with, or its rejection as an error. A promise that settles after
// ctx ended is ignored.
func Await(ctx context.Context, promise safejs.Value) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	done := make(chan result, 1)
	arg := func(args []safejs.Value) safejs.Value {
		if len(args) == 0 {
			return safejs.Undefined()
		}
		return args[0]
	}
	releaseOK, onOK, err := funcOf("then", func(args []safejs.Value) any {
		done <- result{v: arg(args)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	releaseErr, onErr, err := funcOf("catch", func(args []safejs.Value) any {
		done <- result{err: jsError(arg(args))}
		return nil
	})
	if err != nil {
		releaseOK()
		return safejs.Undefined(), err
	}
	if _, err := promise.Call("then", onOK, onErr); err != nil {
		releaseOK()
		releaseErr()
		return safejs.Undefined(), fmt.Errorf("failed to await a promise: %w", err)
	}
	select {
	case r := <-done:
		releaseOK()
		releaseErr()
		return r.v, r.err
	case <-ctx.Done():
		// The promise still holds the callbacks: release them when it
		// settles, which an aborted fetch does at once.
		go func() {
			<-done
			releaseOK()
			releaseErr()
		}()
		return safejs.Undefined(), ctx.Err()
	}
}

// jsError turns a rejection reason into a Go error with its message.
func jsError(reason safejs.Value) error {
	if reason.IsUndefined() || reason.IsNull() {
		return errors.New("the promise was rejected without a reason")
	}
	name, _ := stringProp(reason, "name")
	msg, _ := stringProp(reason, "message")
	if name == "" && msg == "" {
		s, _ := reason.String()
		return errors.New(s)
	}
	return &JSError{Name: name, Message: msg}
}

// JSError is a JavaScript error (its name and message) as a Go error.
type JSError struct {
	Name    string
	Message string
}

func (e *JSError) Error() string { return e.Name + ": " + e.Message }

// stringProp reads a string property, "" when it is missing.
func stringProp(v safejs.Value, name string) (string, error) {
	p, err := v.Get(name)
	if err != nil {
		return "", err
	}
	if p.Type() != safejs.TypeString {
		return "", nil
	}
	return p.String()
}

// intProp reads a number property, 0 when it is missing.
func intProp(v safejs.Value, name string) (int, error) {
	p, err := v.Get(name)
	if err != nil {
		return 0, err
	}
	if p.Type() != safejs.TypeNumber {
		return 0, nil
	}
	return p.Int()
}

// boolProp reads a property's truthiness.
func boolProp(v safejs.Value, name string) (bool, error) {
	p, err := v.Get(name)
	if err != nil {
		return false, err
	}
	return p.Truthy()
}
