package conn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/conn"
)

const ms = time.Millisecond

func TestMedianOfThree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []time.Duration
		want    []time.Duration
	}{
		{"one sample is the latency", []time.Duration{42 * ms}, []time.Duration{42 * ms}},
		{"two samples show the lower, so one slow sample waits for a second", []time.Duration{50 * ms, 900 * ms}, []time.Duration{50 * ms, 50 * ms}},
		{"one slow sample never changes the level", []time.Duration{50 * ms, 60 * ms, 55 * ms, 2000 * ms, 52 * ms}, []time.Duration{50 * ms, 50 * ms, 55 * ms, 60 * ms, 55 * ms}},
		{"a real change shows within two samples", []time.Duration{50 * ms, 50 * ms, 50 * ms, 400 * ms, 400 * ms}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 50 * ms, 400 * ms}},
		{"a recovery shows within two samples too", []time.Duration{900 * ms, 900 * ms, 900 * ms, 40 * ms, 40 * ms}, []time.Duration{900 * ms, 900 * ms, 900 * ms, 900 * ms, 40 * ms}},
		{"a zero round trip counts as a millisecond", []time.Duration{0}, []time.Duration{ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, conn.Median(tt.samples...))
		})
	}
}

func TestQualityOfTheService(t *testing.T) {
	t.Parallel()

	t.Run("the welcome's round trip grades the link at once", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.Latency(156 * ms) })
		h.advance(156 * ms)
		st := h.status()
		assert.Equal(t, conn.QualityGood, st.Quality)
		assert.Equal(t, 156*ms, st.Latency)
	})

	t.Run("quality follows the median of the last three pings", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.Latency(50 * ms) })
		h.advance(15 * time.Second)
		assert.Equal(t, conn.QualityExcellent, h.status().Quality)

		h.srv.Latency(400 * ms)
		h.advance(5 * time.Second)
		assert.Equal(t, conn.QualityExcellent, h.status().Quality, "one slow sample")
		h.advance(5 * time.Second)
		assert.Equal(t, conn.QualityPoor, h.status().Quality, "the second confirms it")
		assert.Equal(t, 400*ms, h.status().Latency)

		h.srv.Latency(1500 * ms)
		h.advance(10 * time.Second)
		assert.Equal(t, conn.QualityDisconnected, h.status().Quality, "over a second grades disconnected")
		assert.True(t, h.status().IsConnected, "yet the link carries the chat")
	})

	t.Run("a single slow ping leaves the level alone", func(t *testing.T) {
		h := parallelHarness(t, func(h *harness) { h.srv.Latency(50 * ms) })
		h.advance(15 * time.Second)
		h.srv.Latency(2 * time.Second)
		h.advance(5 * time.Second)
		h.srv.Latency(50 * ms)
		h.advance(2 * time.Second)
		h.advance(5 * time.Second)
		assert.Equal(t, conn.QualityExcellent, h.status().Quality)
		assert.Equal(t, 50*ms, h.status().Latency)
	})

	t.Run("no transport is graded disconnected with no latency", func(t *testing.T) {
		h := parallelHarness(t, unplugged)
		st := h.status()
		assert.Equal(t, conn.QualityDisconnected, st.Quality)
		assert.Zero(t, st.Latency)
		assert.Equal(t, conn.TransportNone, st.ConnectionType)
	})
}
