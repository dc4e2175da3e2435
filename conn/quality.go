package conn

import "time"

// smoother keeps the last three round-trip samples and reports their median:
// one slow sample never moves the level, and a real change shows within two
// samples (the design's rule; the EWMA would let one outlier through).
type smoother struct {
	samples [3]time.Duration
	n       int // samples held, at most 3
	next    int // where the next sample goes
}

// add records one round trip. Zero and negative round trips (a fake clock
// that did not move) count as the smallest measurable one, a millisecond, so
// a working link is never graded "no measurement".
func (s *smoother) add(rtt time.Duration) {
	if rtt < time.Millisecond {
		rtt = time.Millisecond
	}
	s.samples[s.next] = rtt
	s.next = (s.next + 1) % len(s.samples)
	if s.n < len(s.samples) {
		s.n++
	}
}

// reset forgets every sample: a new transport is measured afresh.
func (s *smoother) reset() { *s = smoother{} }

// latency is the smoothed round trip: the median of the samples held. With
// two samples it is the lower one, so a single slow sample cannot change the
// level before a second confirms it. Zero means no sample.
func (s *smoother) latency() time.Duration {
	switch s.n {
	case 0:
		return 0
	case 1:
		return s.samples[0]
	case 2:
		return min(s.samples[0], s.samples[1])
	}
	a, b, c := s.samples[0], s.samples[1], s.samples[2]
	return max(min(a, b), min(max(a, b), c))
}
