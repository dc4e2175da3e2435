//go:build !wasm

package main

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// histogram counts latencies in buckets of 10 µs up to 100 ms and of 1 ms
// from there to 10 s (later ones go into the last bucket). Many goroutines
// record into it at once without a lock; percentiles are read when they are
// done.
type histogram struct {
	fine   [fineBuckets]atomic.Uint64
	coarse [coarseBuckets]atomic.Uint64
	count  atomic.Uint64
	sumNS  atomic.Uint64
	maxNS  atomic.Int64
}

const (
	fineWidth     = 10 * time.Microsecond
	fineBuckets   = int(100 * time.Millisecond / fineWidth)
	coarseWidth   = time.Millisecond
	coarseBuckets = int((10*time.Second - 100*time.Millisecond) / coarseWidth)
)

// record adds one latency; a negative one (clocks never go back here, but
// a stamp may be garbled) counts as 0.
func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	if i := int(d / fineWidth); i < fineBuckets {
		h.fine[i].Add(1)
	} else {
		j := min(int((d-100*time.Millisecond)/coarseWidth), coarseBuckets-1)
		h.coarse[j].Add(1)
	}
	h.count.Add(1)
	h.sumNS.Add(uint64(d))
	for {
		m := h.maxNS.Load()
		if int64(d) <= m || h.maxNS.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// Count is how many latencies were recorded.
func (h *histogram) Count() uint64 { return h.count.Load() }

// Quantile returns the latency under which a fraction q (0–1) of the
// recorded ones fall: the upper edge of the bucket holding the ⌈q·n⌉-th
// smallest, so it errs on the slow side by at most one bucket. 0 when empty.
func (h *histogram) Quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.fine {
		seen += h.fine[i].Load()
		if seen >= rank {
			return min(time.Duration(i+1)*fineWidth, time.Duration(h.maxNS.Load()))
		}
	}
	for j := range h.coarse {
		seen += h.coarse[j].Load()
		if seen >= rank {
			if j == coarseBuckets-1 { // the overflow bucket: no upper edge
				break
			}
			return min(100*time.Millisecond+time.Duration(j+1)*coarseWidth, time.Duration(h.maxNS.Load()))
		}
	}
	return time.Duration(h.maxNS.Load())
}

// Mean is the average latency, 0 when empty.
func (h *histogram) Mean() time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sumNS.Load() / n)
}

// Max is the slowest latency recorded.
func (h *histogram) Max() time.Duration { return time.Duration(h.maxNS.Load()) }

// ms turns a duration into milliseconds with two decimals, for the report.
func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*100) / 100 }

// median returns the middle value of xs (the mean of the two middle ones
// for an even count), 0 for none. xs is not changed.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
