package conn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
)

func TestSystemClockIsGoTime(t *testing.T) {
	t.Parallel()
	var clock conn.Clock = conn.SystemClock{}
	before := time.Now()
	assert.False(t, clock.Now().Before(before), "Now is time.Now")

	fired := make(chan struct{})
	clock.AfterFunc(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "a timer of 1 ms did not fire")
	}

	stopped := clock.AfterFunc(time.Hour, func() { t.Error("a stopped timer fired") })
	assert.True(t, stopped.Stop(), "a timer stops before it fires")
}
