//go:build !wasm

package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKibField(t *testing.T) {
	t.Parallel()
	status := []byte("Name:\ttether\nVmPeak:\t  900 kB\nVmRSS:\t   51200 kB\nThreads:\t7\n")
	tests := []struct {
		name    string
		data    []byte
		field   string
		want    int64
		wantErr bool
	}{
		{"VmRSS in kB becomes bytes", status, "VmRSS:", 51200 << 10, false},
		{"a missing field is an error", status, "VmSwap:", 0, true},
		{"a line without kB is an error", []byte("VmRSS:\t12\n"), "VmRSS:", 0, true},
		{"smaps_rollup's Pss line", []byte("55d0-7ffd ---p 00000000 00:00 0  [rollup]\nRss:  2048 kB\nPss:  1024 kB\n"), "Pss:", 1024 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kibField(tt.data, tt.field)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	// A command name with a space and a parenthesis, as the kernel allows.
	stat := "4242 (tether (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 7 0 100 1000000 2000 18446744073709551615"
	got, err := parseStatCPU(stat)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, got, "utime 250 + stime 50 ticks at 100 Hz")

	_, err = parseStatCPU("garbage")
	assert.Error(t, err)
	_, err = parseStatCPU("1 (x) S 1 2")
	assert.Error(t, err)
}

func TestReadOwnProcess(t *testing.T) {
	t.Parallel()
	m, err := readMemory(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, m.RSS)
	_, err = readCPU(os.Getpid())
	require.NoError(t, err)
}

func TestCPUModel(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "AMD EPYC", cpuModel([]byte("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\n")))
	assert.Equal(t, "unknown", cpuModel(nil))
}
