//go:build !wasm

package postgres_test

import (
	"context"
	"log/slog"
	"testing"

	"tether/server/store/postgres"
	"tether/server/store/postgres/pgtest"
	"tether/server/store/storetest"
)

// BenchmarkAppend measures appends on the test cluster (fsync off: the
// round trips and the server's work, not the disk). "sequential" is one
// caller waiting for each answer; "parallel" has many callers, whose appends
// share batches.
func BenchmarkAppend(b *testing.B) {
	b.Run("sequential", func(b *testing.B) {
		storetest.BenchAppendSequential(b, benchStore(b))
	})
	b.Run("parallel", func(b *testing.B) {
		storetest.BenchAppendParallel(b, benchStore(b), 50)
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
