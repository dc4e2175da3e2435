package components_test

import (
	"sync"

	"tether/components"
	"tether/conn"
)

// fakeSource is a StatusSource the test drives: Set changes the status and
// tells every watcher, ForceReconnect is counted.
type fakeSource struct {
	mu       sync.Mutex
	status   conn.Status
	watchers map[int]func(conn.Status)
	next     int
	forced   int
}

var _ components.StatusSource = (*fakeSource)(nil)

func newFakeSource(s conn.Status) *fakeSource {
	return &fakeSource{status: s, watchers: map[int]func(conn.Status){}}
}

func (f *fakeSource) Status() conn.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeSource) Watch(fn func(conn.Status)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.next
	f.next++
	f.watchers[id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.watchers, id)
	}
}

func (f *fakeSource) ForceReconnect() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forced++
}

func (f *fakeSource) Set(s conn.Status) {
	f.mu.Lock()
	f.status = s
	fns := make([]func(conn.Status), 0, len(f.watchers))
	for _, fn := range f.watchers {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(s)
	}
}

func (f *fakeSource) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers)
}

func (f *fakeSource) Forced() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forced
}
