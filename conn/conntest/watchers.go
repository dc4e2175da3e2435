package conntest

import (
	"maps"
	"slices"
	"sync"
)

// watchers are the callbacks a fake's Watch registered, each kept until
// its stop is called. The fake's mutex guards them: add, list and len run
// with it held, and stop takes it. The zero value is ready.
type watchers[F any] struct {
	next int
	fns  map[int]F
}

// add keeps fn until the returned stop is called; mu is the fake's mutex,
// held by the caller.
func (w *watchers[F]) add(mu *sync.Mutex, fn F) (stop func()) {
	if w.fns == nil {
		w.fns = map[int]F{}
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		mu.Lock()
		defer mu.Unlock()
		delete(w.fns, id)
	}
}

// list returns the callbacks, for the caller to call once it released the
// lock, so that a callback may read the fake.
func (w *watchers[F]) list() []F { return slices.Collect(maps.Values(w.fns)) }

// len is how many callbacks have not stopped.
func (w *watchers[F]) len() int { return len(w.fns) }
