package conn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"tether/conn"
)

func TestQualityOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rtt  time.Duration
		want conn.Quality
	}{
		{"no measurement is disconnected", 0, conn.QualityDisconnected},
		{"a fast link is excellent", 42 * time.Millisecond, conn.QualityExcellent},
		{"just under 100 ms is still excellent", 99 * time.Millisecond, conn.QualityExcellent},
		{"100 ms is good", 100 * time.Millisecond, conn.QualityGood},
		{"just under 300 ms is still good", 299 * time.Millisecond, conn.QualityGood},
		{"300 ms is poor", 300 * time.Millisecond, conn.QualityPoor},
		{"just under a second is still poor", 999 * time.Millisecond, conn.QualityPoor},
		{"a second or more is disconnected", time.Second, conn.QualityDisconnected},
		{"a negative duration is no measurement", -time.Millisecond, conn.QualityDisconnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, conn.QualityOf(tt.rtt))
		})
	}
}

func TestQualityBars(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 3, conn.QualityExcellent.Bars())
	assert.Equal(t, 2, conn.QualityGood.Bars())
	assert.Equal(t, 1, conn.QualityPoor.Bars())
	assert.Equal(t, 0, conn.QualityDisconnected.Bars())
	assert.Equal(t, 0, conn.Quality("").Bars(), "an unknown quality lights nothing")
}

func TestLatencyText(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "42 ms", conn.Status{Latency: 42 * time.Millisecond}.LatencyText())
	assert.Equal(t, "43 ms", conn.Status{Latency: 42600 * time.Microsecond}.LatencyText(), "rounds to the millisecond")
	assert.Equal(t, "–", conn.Status{}.LatencyText(), "no measurement shows a dash, not 0 ms")
}

func TestInitialStatusIsHonest(t *testing.T) {
	t.Parallel()
	s := conn.InitialStatus()
	assert.Equal(t, conn.StateConnecting, s.State)
	assert.False(t, s.IsConnected)
	assert.Equal(t, conn.QualityDisconnected, s.Quality)
	assert.Equal(t, conn.TransportNone, s.ConnectionType)
}
