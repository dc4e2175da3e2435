//go:build !wasm

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
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
	got, ok := storeAppends(srv.URL)
	assert.True(t, ok)
	assert.Equal(t, appendCounts{total: 100, within10ms: 95}, got)

	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	_, ok = storeAppends(gone.URL)
	assert.False(t, ok, "a server without /metrics (the peer)")
}
