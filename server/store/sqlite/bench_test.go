//go:build !wasm

package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store/sqlite"
	"tether/server/store/storetest"
)

// BenchmarkAppend measures appends with their fsync. "sequential" is one
// caller waiting for each ack, so one commit per message; "parallel" has many
// callers, whose appends share commits: msgs/commit shows the batching.
func BenchmarkAppend(b *testing.B) {
	b.Run("sequential", func(b *testing.B) {
		s, commits := benchStore(b)
		cpu := processCPU()
		storetest.BenchAppendSequential(b, s)
		report(b, b.N, commits, processCPU()-cpu)
	})
	b.Run("parallel", func(b *testing.B) { benchParallel(b, 1) })
	// Rooms spread the appends over the indexes' pages, as a server with
	// many conversations does.
	b.Run("parallel_1000_rooms", func(b *testing.B) { benchParallel(b, 1000) })
}

// benchParallel appends from many callers at once over rooms, and reports
// how many messages a commit held.
func benchParallel(b *testing.B, rooms int) {
	s, commits := benchStore(b)
	cpu := processCPU()
	storetest.BenchAppendParallel(b, s, rooms)
	report(b, b.N, commits, processCPU()-cpu)
}

// BenchmarkAfter measures the replay of 100 messages, what a reconnecting
// client that missed them costs.
func BenchmarkAfter(b *testing.B) {
	s, _ := benchStore(b)
	ctx := context.Background()
	const stored, replay = 1000, 100
	var wg sync.WaitGroup
	for w := range 10 { // concurrent, so filling shares commits
		wg.Go(func() {
			for i := range stored / 10 {
				n := w*stored + i
				if _, _, err := s.Append(ctx, newMessage("bench", fmt.Sprintf("c%d", n), n)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for b.Loop() { // the first call resets the timer
		msgs, err := s.After(ctx, "bench", stored-replay, replay)
		if err != nil || len(msgs) != replay {
			b.Fatalf("after: %d messages, %v", len(msgs), err)
		}
	}
	b.ReportMetric(float64(b.N*replay)/b.Elapsed().Seconds(), "msgs/s")
}

// benchStore opens a store whose commits are counted.
func benchStore(b *testing.B) (*sqlite.Store, *atomic.Int64) {
	b.Helper()
	commits := new(atomic.Int64)
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "tether.db"), sqlite.Options{
		Logger:   quiet,
		OnCommit: func([]wire.Message) { commits.Add(1) },
	})
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, s.Close()) })
	return s, commits
}

// report adds appends a second, appends per commit and, where the process's
// CPU time is known, the CPU each append cost (cpu, callers and writer
// together, fsync waits excluded).
func report(b *testing.B, n int, commits *atomic.Int64, cpu time.Duration) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/msg")
	}
	if c := commits.Load(); c > 0 {
		b.ReportMetric(float64(n)/float64(c), "msgs/commit")
	}
}
