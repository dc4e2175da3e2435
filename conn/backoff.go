package conn

import "time"

// The backoff: 1, 2, 4, 8, 16, 30 s … with equal jitter by default. The
// randomness is a PRNG whose state lives in the machine, so Next stays a pure
// function: the same state and event give the same delay.

// rng is a splitmix64 generator: tiny state, good enough spread for jitter.
type rng struct{ state uint64 }

// next returns the next 64 random bits.
func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a number in [0, 1).
func (r *rng) float() float64 {
	return float64(r.next()>>11) / (1 << 53)
}

// below returns a random duration in [0, d); zero when d is not positive.
func (r *rng) below(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(r.float() * float64(d))
}

// backoffStep is the delay before attempt n (1-based) without jitter:
// base·2^(n-1), capped at max.
func backoffStep(n int, base, max time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n; i++ {
		d *= 2
		if d >= max || d <= 0 {
			return max
		}
	}
	return min(d, max)
}

// jittered spreads a step by the configured jitter.
func (r *rng) jittered(step time.Duration, j Jitter) time.Duration {
	switch j {
	case JitterNone:
		return step
	case JitterFull:
		return r.below(step)
	default: // JitterEqual: half fixed, half random
		half := step / 2
		return step - half + r.below(half+1)
	}
}
