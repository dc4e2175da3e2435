//go:build !wasm

package bookings

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestOpenLimitsRefill(t *testing.T) {
	t.Parallel()
	var l openLimits
	now := time.Unix(1_800_000_000, 0)
	for i := range openBurst {
		assert.Zero(t, l.take("b-1\x00customer", now), "open %d of the burst", i+1)
	}
	assert.Equal(t, openEvery, l.take("b-1\x00customer", now), "past the burst: one every openEvery")
	assert.Zero(t, l.take("b-1\x00provider", now), "the other side has a limit of its own")
	assert.Equal(t, time.Second, l.take("b-1\x00customer", now.Add(openEvery-time.Second)), "a refused open costs nothing")
	assert.Zero(t, l.take("b-1\x00customer", now.Add(openEvery)))
	assert.Equal(t, openEvery, l.take("b-1\x00customer", now.Add(openEvery)))
}

func TestOpenLimitsStartOverPastTheirBound(t *testing.T) {
	t.Parallel()
	var l openLimits
	now := time.Unix(1_800_000_000, 0)
	for range openBurst {
		l.take("full", now)
	}
	assert.NotZero(t, l.take("full", now))
	for i := range maxOpenLimits {
		l.take(time.Duration(i).String(), now)
	}
	assert.LessOrEqual(t, len(l.limits), maxOpenLimits)
	assert.Zero(t, l.take("full", now), "the limits started over")
}
