//go:build !wasm

package main

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		latencies []time.Duration
		q         float64
		want      time.Duration
	}{
		{"an empty histogram answers zero", nil, 0.99, 0},
		{"one sample is every quantile, capped at the max", []time.Duration{1234 * time.Microsecond}, 0.5, 1234 * time.Microsecond},
		{"the median of 1..100 ms is the upper edge of its 10 µs bucket", spread(100, time.Millisecond), 0.5, 50*time.Millisecond + 10*time.Microsecond},
		{"p99 of 1..100 ms is the upper edge of its bucket", spread(100, time.Millisecond), 0.99, 99*time.Millisecond + 10*time.Microsecond},
		{"slow samples land in the 1 ms buckets", spread(10, 100*time.Millisecond), 0.9, 901 * time.Millisecond},
		{"beyond 10 s the max answers", []time.Duration{time.Millisecond, 30 * time.Second}, 1, 30 * time.Second},
		{"below the overflow the max caps the edge", []time.Duration{time.Millisecond, 5 * time.Second}, 1, 5 * time.Second},
		{"a negative latency counts as zero", []time.Duration{-time.Second}, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, d := range tt.latencies {
				h.record(d)
			}
			assert.Equal(t, tt.want, h.Quantile(tt.q))
			assert.Equal(t, uint64(len(tt.latencies)), h.Count())
		})
	}
}

// spread returns step, 2·step, …, n·step.
func spread(n int, step time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * step
	}
	return out
}

func TestHistogramTakesConcurrentRecords(t *testing.T) {
	t.Parallel()
	var h histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.record(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, uint64(8000), h.Count())
	assert.Equal(t, 7999*time.Microsecond, h.Max())
	assert.InDelta(t, 3999.5, float64(h.Mean())/float64(time.Microsecond), 1)
}

func TestMedian(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 0.0, median(nil))
	assert.Equal(t, 3.0, median([]float64{5, 1, 3}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	in := []float64{3, 1, 2}
	median(in)
	assert.Equal(t, []float64{3, 1, 2}, in, "the input keeps its order")
}
