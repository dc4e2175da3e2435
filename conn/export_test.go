package conn

import "time"

// Exports for the tests of package conn_test.

// BackoffStep is the delay before attempt n without jitter.
var BackoffStep = backoffStep

// Jittered spreads step with a PRNG seeded by seed.
func Jittered(seed uint64, step time.Duration, j Jitter) time.Duration {
	r := rng{state: seed}
	return r.jittered(step, j)
}

// Median feeds samples to the smoother and returns its latency after each.
func Median(samples ...time.Duration) []time.Duration {
	var s smoother
	out := make([]time.Duration, len(samples))
	for i, d := range samples {
		s.add(d)
		out[i] = s.latency()
	}
	return out
}

// Attempts is the machine's attempt counter.
func (m *Machine) Attempts() int { return m.attempts }

// Polling reports whether the machine polls.
func (m *Machine) Polling() bool { return m.polling }

// Gen is the current socket generation.
func (m *Machine) Gen() uint64 { return m.gen }

// TimerID is the id of a running timer, 0 when stopped.
func (m *Machine) TimerID(k TimerKind) uint64 { return m.timers[k] }

// LastSeq is the last seq delivered for room.
func (m *Machine) LastSeq(room string) int64 {
	if r := m.rooms[room]; r != nil {
		return r.lastSeq
	}
	return 0
}
