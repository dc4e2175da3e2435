//go:build !wasm

package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"tether/server/store/postgres"
	"tether/server/store/postgres/pgtest"
)

// BenchmarkAppend measures appends on the test cluster (fsync off: the
// round trips and the server's work, not the disk). "sequential" is one
// caller waiting for each answer; "parallel" has many callers, whose appends
// share batches.
func BenchmarkAppend(b *testing.B) {
	b.Run("sequential", func(b *testing.B) {
		s := benchStore(b)
		ctx := context.Background()
		i := 0
		for b.Loop() {
			i++
			if _, _, err := s.Append(ctx, newMessage("bench", fmt.Sprintf("c%d", i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := benchStore(b)
		ctx := context.Background()
		var n atomic.Int64
		b.SetParallelism(16)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				if _, _, err := s.Append(ctx, newMessage(fmt.Sprintf("room%d", i%50), fmt.Sprintf("c%d", i))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

func benchStore(b *testing.B) *postgres.Store {
	b.Helper()
	s, err := postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
