//go:build !wasm

package main

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// These tests change the process's GOMAXPROCS and environment: not parallel.

func TestASingleCPUServerGetsASpareP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	t.Setenv("GOMAXPROCS", "")
	ensureSpareP()
	assert.Equal(t, 2, runtime.GOMAXPROCS(0))
}

func TestGOMAXPROCSSetByTheOperatorIsKept(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	t.Setenv("GOMAXPROCS", "1")
	ensureSpareP()
	assert.Equal(t, 1, runtime.GOMAXPROCS(0))
}

func TestMoreCPUsAreLeftAlone(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	t.Setenv("GOMAXPROCS", "")
	ensureSpareP()
	assert.Equal(t, 3, runtime.GOMAXPROCS(0))
}
