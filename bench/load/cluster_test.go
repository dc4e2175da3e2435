//go:build !wasm

package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheHarnessReadsItsWorkersLines(t *testing.T) {
	t.Parallel()
	w := &holdWorker{&child{who: "worker", lines: make(chan string, 4)}}
	w.lines <- "opened 16667"
	w.lines <- "opened 120 (stopped: connection 120: refused)"
	w.lines <- "held 3"
	got, err := w.next("opened", time.Second)
	require.NoError(t, err)
	assert.Equal(t, 16667, got)
	got, err = w.next("opened", time.Second)
	require.NoError(t, err)
	assert.Equal(t, 120, got, "a worker that stopped early still says how many it opened")
	_, err = w.next("opened", time.Second)
	assert.ErrorContains(t, err, `said "held 3", not "opened"`)
	close(w.lines)
	_, err = w.next("held", time.Second)
	assert.ErrorContains(t, err, "exited before")
}
