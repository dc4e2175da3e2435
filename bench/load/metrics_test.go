//go:build !wasm

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoreAppendsReadsTethersHistogram(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `# HELP tether_store_seconds Latency of store calls, by operation.
tether_store_seconds_bucket{op="append",le="0.005"} 90
tether_store_seconds_bucket{op="append",le="0.01"} 95
tether_store_seconds_bucket{op="append",le="+Inf"} 100
tether_store_seconds_count{op="append"} 100
tether_store_seconds_count{op="after"} 7
`)
	}))
	defer srv.Close()
	got, ok := storeAppends(srv.URL + "/metrics")
	assert.True(t, ok)
	assert.Equal(t, appendCounts{total: 100, within10ms: 95}, got)

	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	_, ok = storeAppends(gone.URL + "/metrics")
	assert.False(t, ok, "a server that does not answer /metrics")
	_, ok = storeAppends("")
	assert.False(t, ok, "a server without metrics (the peer)")
}

// tether prints its metrics URL (with -metrics-addr) before the URL it
// serves; the harness keeps both.
func TestStartServerKeepsTheMetricsURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		script  string
		metrics string
	}{
		{name: "tether with -metrics-addr", script: "echo 'tether metrics http://127.0.0.1:4321/metrics'; echo 'tether serving http://127.0.0.1:1234/'; exec sleep 30",
			metrics: "http://127.0.0.1:4321/metrics"},
		{name: "a server without metrics", script: "echo 'peer serving http://127.0.0.1:1234/'; exec sleep 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := startServerIn("fake", "", nil, "sh", "-c", tt.script)
			require.NoError(t, err)
			defer p.stop(time.Second)
			assert.Equal(t, "http://127.0.0.1:1234", p.URL)
			assert.Equal(t, tt.metrics, p.MetricsURL)
		})
	}
}
