//go:build !wasm

package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/api"
	"tether/server/chat"
	"tether/server/metrics"
)

func TestAnAnswersWriteDeadlineDoesNotOutliveIt(t *testing.T) {
	t.Parallel()
	const timeout = 20 * time.Millisecond
	hub := chat.NewHub(chat.Config{WriteTimeout: timeout}, nil, nil, nil, metrics.New(), slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{Hub: hub}))
	// A handler without deadlines of its own (the bundle), answering after
	// the API's deadline on the same connection has passed.
	mux.HandleFunc("/later", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * timeout)
		io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	client := srv.Client()
	get := func(path string) (*http.Response, bool) {
		reused := false
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		res, err := client.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { res.Body.Close() })
		return res, reused
	}
	res, _ := get("/api/ping")
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	io.Copy(io.Discard, res.Body)

	res, reused := get("/later")
	require.True(t, reused, "the second request goes over the same connection")
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(body))
}
