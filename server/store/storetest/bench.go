//go:build !wasm

package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"tether/server/store"
)

// BenchAppendSequential appends b.N messages to one room from one caller,
// who waits for each answer: one commit per message. The stores' benchmarks
// share it, so that their numbers compare.
func BenchAppendSequential(b *testing.B, st store.Store) {
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, _, err := st.Append(ctx, msg("bench", fmt.Sprintf("c%d", i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchAppendParallel appends b.N messages from 16 callers per CPU, a
// server's many connections sending at once, round-robin over rooms (one
// room when rooms is 1), so that the appends share commits.
func BenchAppendParallel(b *testing.B, st store.Store, rooms int) {
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			room := "bench"
			if rooms > 1 {
				room = fmt.Sprintf("room-%d", i%rooms)
			}
			if _, _, err := st.Append(ctx, msg(room, fmt.Sprintf("c%d", i))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
