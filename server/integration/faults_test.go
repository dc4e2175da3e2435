//go:build !wasm

package integration_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/node"
)

// The subtests share one server and run in order: each turns its fault on,
// checks it, and turns it off again; drop comes last as it cuts everyone.
func TestEachFaultOfTheTestBackendBreaksWhatItSays(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	const room = "booking-1"
	casey := join(t, m, room, "casey", wire.RoleCustomer)
	ctx := testContext(t)

	t.Run("refuse_websocket fails dials with 503 while HTTP works", func(t *testing.T) {
		setFaults(t, m, `{"refuse_websocket":true}`)
		_, err := native.Dial(ctx, m.URL(), casey.tok)
		he := requireHTTPError(t, err, http.StatusServiceUnavailable, wire.CodeUnavailable)
		assert.Positive(t, he.RetryAfter)
		_, created, err := casey.http.Post(ctx, room, "h1", "over HTTP")
		require.NoError(t, err)
		assert.True(t, created)
		page, err := casey.http.Messages(ctx, room, 0, 0)
		require.NoError(t, err)
		assert.Len(t, page.Messages, 1)

		setFaults(t, m, `{"refuse_websocket":false}`)
		c := dial(t, m, casey.tok)
		require.NoError(t, c.Close())
	})

	t.Run("latency_ms delays pongs and HTTP answers", func(t *testing.T) {
		setFaults(t, m, `{"latency_ms":300}`)
		start := time.Now()
		_, err := casey.ws.PingPong(ctx, 1)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "ping round trip")
		start = time.Now()
		require.NoError(t, casey.http.Ping(ctx))
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "HTTP ping")

		setFaults(t, m, `{"latency_ms":0}`)
		_, err = casey.ws.PingPong(ctx, 2)
		require.NoError(t, err)
	})

	t.Run("page_latency_ms delays the pages, not the API", func(t *testing.T) {
		setFaults(t, m, `{"page_latency_ms":400}`)
		start := time.Now()
		res, err := http.Get(m.URL() + "/therapist")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond, "a page")
		// The API answers at once: a slow page must not look like a slow
		// connection to the client.
		apiStart := time.Now()
		require.NoError(t, casey.http.Ping(ctx))
		assert.Less(t, time.Since(apiStart), 400*time.Millisecond, "the API")

		setFaults(t, m, `{"page_latency_ms":0}`)
	})

	t.Run("page_status answers the pages with it, not the API", func(t *testing.T) {
		setFaults(t, m, `{"page_status":503}`)
		for _, path := range []string{"/therapist", "/web/app.wasm"} {
			res, err := http.Get(m.URL() + path)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, path)
		}
		require.NoError(t, casey.http.Ping(ctx))
		for _, body := range []string{`{"page_status":404}`, `{"page_status":600}`} {
			_, err := httpClient(m, "").Do(ctx, http.MethodPost, "/api/test/faults", []byte(body), nil)
			requireHTTPError(t, err, http.StatusBadRequest, "bad_request")
		}

		setFaults(t, m, `{"page_status":0}`)
		res, err := http.Get(m.URL() + "/therapist")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
	})

	t.Run("mute_pongs leaves pings unanswered while sends are acked", func(t *testing.T) {
		setFaults(t, m, `{"mute_pongs":true}`)
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := casey.ws.PingPong(short, 3)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		ack, err := casey.ws.SendAndAck(ctx, room, "m1", "sent while muted")
		require.NoError(t, err)
		assert.Positive(t, ack.Seq)

		setFaults(t, m, `{"mute_pongs":false}`)
		_, err = casey.ws.PingPong(ctx, 4)
		require.NoError(t, err)
	})

	t.Run("drop all cuts sockets without a close frame and a new dial works", func(t *testing.T) {
		setFaults(t, m, `{"drop":"all"}`)
		var err error
		for err == nil {
			_, err = casey.ws.Next(ctx)
		}
		assert.Equal(t, wire.CloseAbnormal, native.CloseStatus(err), "err: %v", err)
		assert.Equal(t, websocket.StatusCode(-1), websocket.CloseStatus(err), "no close frame came")

		c := dial(t, m, casey.tok)
		ack, err := c.SendAndAck(ctx, room, "d1", "after the drop")
		require.NoError(t, err)
		assert.Positive(t, ack.Seq)
	})

	t.Run("close closes every socket with the code and reason given", func(t *testing.T) {
		c := dial(t, m, casey.tok)
		setFaults(t, m, `{"close":{"code":4001,"reason":"{\"retry_after_ms\":1500}"}}`)
		var err error
		for err == nil {
			_, err = c.Next(ctx)
		}
		assert.Equal(t, wire.CloseDraining, native.CloseStatus(err), "err: %v", err)
		var ce websocket.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, `{"retry_after_ms":1500}`, ce.Reason)
	})

	t.Run("close refuses codes a server may not send", func(t *testing.T) {
		for _, body := range []string{`{"close":{"code":1006}}`, `{"close":{"code":999}}`, `{"close":{"code":5000}}`} {
			_, err := httpClient(m, "").Do(ctx, http.MethodPost, "/api/test/faults", []byte(body), nil)
			requireHTTPError(t, err, http.StatusBadRequest, "bad_request")
		}
	})

	var settings map[string]any
	_, err := httpClient(m, "").Do(ctx, http.MethodGet, "/api/test/faults", nil, &settings)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"refuse_websocket": false, "latency_ms": 0.0, "mute_pongs": false, "page_latency_ms": 0.0, "page_status": 0.0}, settings)
}

func TestTheTestBackendIsAbsentWithoutFaults(t *testing.T) {
	t.Parallel()
	m := startNode(t, func(m *node.Main) { m.Faults = false })
	h := httpClient(m, "")
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		_, err := h.Do(testContext(t), method, "/api/test/faults", []byte(`{"drop":"all"}`), nil)
		requireHTTPError(t, err, http.StatusNotFound, wire.CodeNotFound)
	}
}
