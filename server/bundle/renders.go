//go:build !wasm

package bundle

import (
	"context"
	"sync/atomic"
	"time"
)

// renderGate bounds the pages pre-rendered at once. A page is rendered
// afresh for each request (about 0.2 ms of CPU and 1,100 allocations) and
// asking for one needs no token: a stranger asking on many connections at
// once would otherwise put a runnable goroutine a request in the
// scheduler's queue, ahead of the chat's sockets and store. Past the slots
// a request waits, parked and costing no CPU, up to wait, with at most
// maxWaiting others; past that it is refused (503 with Retry-After). The
// page is written to its client after its slot is freed, so a client that
// never reads holds none.
type renderGate struct {
	slots      chan struct{}
	waiting    atomic.Int64
	maxWaiting int64
	wait       time.Duration
}

// Defaults of the gate: two renders at once keep a two-core server's pages
// going at thousands a second while leaving the chat its place in the
// queue; a page waits at most 2 s, with at most 1,000 others.
const (
	renderSlots      = 2
	maxRenderWaiting = 1000
	renderWait       = 2 * time.Second
)

func newRenderGate(slots, maxWaiting int, wait time.Duration) *renderGate {
	return &renderGate{slots: make(chan struct{}, slots), maxWaiting: int64(maxWaiting), wait: wait}
}

// enter takes a slot, waiting for one up to g.wait while ctx lasts, and
// reports whether it got one; leave gives it back.
func (g *renderGate) enter(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return false
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (g *renderGate) leave() { <-g.slots }
