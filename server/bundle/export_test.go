//go:build !wasm

package bundle

import "time"

// MaxGzipMemo is maxGzipMemo, for the external tests.
const MaxGzipMemo = maxGzipMemo

// GzipMemo is a gzipMemo of the external tests' own.
type GzipMemo struct{ m *gzipMemo }

// NewGzipMemo returns an empty memo.
func NewGzipMemo() GzipMemo { return GzipMemo{newGzipMemo()} }

// Of is gzipMemo.of.
func (g GzipMemo) Of(path, etag string, body []byte, keep bool) []byte {
	return g.m.of(path, etag, body, keep)
}

// Len is how many answers the memo keeps.
func (g GzipMemo) Len() int { return len(g.m.entries) }

// RenderSlots is renderSlots, the server's gate.
const RenderSlots = renderSlots

// SetRenderGate gives b a render gate of slots, with at most waiting
// requests waiting up to wait.
func SetRenderGate(b *Bundle, slots, waiting int, wait time.Duration) {
	b.renders = newRenderGate(slots, waiting, wait)
}

// HoldRender takes a slot of b's render gate until release is called.
func HoldRender(b *Bundle) (release func()) {
	b.renders.slots <- struct{}{}
	return b.renders.leave
}

// RendersWaiting is how many requests wait for a slot of b's gate.
func RendersWaiting(b *Bundle) int64 { return b.renders.waiting.Load() }
