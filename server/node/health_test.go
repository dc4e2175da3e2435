//go:build !wasm

package node

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/internal/syncbuf"
)

// The health check tells a load balancer yes or no and nothing more; why
// the store failed goes to the operator's log.
func TestHealthSaysOnlyOkOrNotOk(t *testing.T) {
	t.Parallel()
	var log syncbuf.Buffer
	m := &Main{
		Config: Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Dev: true},
		Stdout: io.Discard,
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Secret: []byte("a-test-secret-of-at-least-32-bytes-long"),
	}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { m.Close() })

	tests := []struct {
		name   string
		before func()
		status int
		body   string
	}{
		{name: "a working store is ok", before: func() {}, status: http.StatusOK, body: "ok\n"},
		{name: "a closed store is not ok, and the answer names no error", before: func() { m.store.Close() },
			status: http.StatusServiceUnavailable, body: "not ok\n"},
	}
	for _, tt := range tests {
		tt.before()
		res, err := http.Get(m.URL() + "/healthz")
		require.NoError(t, err, tt.name)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.status, res.StatusCode, tt.name)
		assert.Equal(t, tt.body, string(body), tt.name)
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), tt.name)
	}
	assert.Contains(t, log.String(), "health check failed")
}
