//go:build !wasm

package native

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/wire"
)

// fakeServer serves /api/ws with script, which plays the server's side of
// one session; it returns the base URL.
func fakeServer(t *testing.T, script func(ctx context.Context, ws *websocket.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/ws" {
			http.NotFound(w, r)
			return
		}
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		script(r.Context(), ws)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// readFrame reads one frame on the server's side.
func readFrame(ctx context.Context, t *testing.T, ws *websocket.Conn) wire.Frame {
	_, data, err := ws.Read(ctx)
	if err != nil {
		return nil
	}
	f, err := wire.Decode(data)
	assert.NoError(t, err)
	return f
}

func writeFrames(ctx context.Context, ws *websocket.Conn, frames ...wire.Frame) {
	for _, f := range frames {
		data, _ := wire.Encode(f)
		ws.Write(ctx, websocket.MessageText, data)
	}
}

func TestDialSendsHelloAndReturnsTheWelcome(t *testing.T) {
	t.Parallel()
	hellos := make(chan *wire.Hello, 1)
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		hello, _ := readFrame(ctx, t, ws).(*wire.Hello)
		hellos <- hello
		writeFrames(ctx, ws,
			&wire.Welcome{Session: "s1", HeartbeatMS: 1000, User: wire.User{ID: "u1"}},
			&wire.Subscribed{Room: "r1", Head: 3, Recovered: true})
		ws.Read(ctx) // until the client closes
	})
	c, err := Dial(t.Context(), url, "tok", WithResume(map[string]int64{"r1": 2}))
	require.NoError(t, err)
	defer c.Close()

	assert.Equal(t, &wire.Hello{Token: "tok", Resume: map[string]int64{"r1": 2}}, <-hellos)
	require.NotNil(t, c.Welcome())
	assert.Equal(t, "s1", c.Welcome().Session)
	f, err := c.Next(t.Context())
	require.NoError(t, err)
	assert.Equal(t, &wire.Subscribed{Room: "r1", Head: 3, Recovered: true}, f)
	require.NoError(t, c.Close())
	_, err = c.Next(t.Context())
	assert.ErrorIs(t, err, ErrClosed)
}

func TestDialReturnsTheCloseCodeOfAServerThatClosesBeforeWelcome(t *testing.T) {
	t.Parallel()
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		readFrame(ctx, t, ws)
		ws.Close(websocket.StatusCode(wire.CloseUnauthorized), "token expired")
	})
	_, err := Dial(t.Context(), url, "tok")
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, wire.CloseUnauthorized, ce.Code)
	assert.Equal(t, "token expired", ce.Reason)
	assert.Equal(t, wire.CloseUnauthorized, CloseStatus(err))
}

func TestDialReturnsAnHTTPErrorWhenTheUpgradeIsRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"unavailable","message":"refused"}`))
	}))
	defer srv.Close()
	_, err := Dial(t.Context(), srv.URL, "tok")
	var he *conn.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusServiceUnavailable, he.Status)
	assert.Equal(t, wire.CodeUnavailable, he.Code)
	assert.Equal(t, "refused", he.Message)
	assert.Equal(t, 2*time.Second, he.RetryAfter)
	assert.Error(t, he.Cause, "the library's error of the refused upgrade is kept")
}

func TestNextWithAnEndedContextKeepsTheConnectionOpen(t *testing.T) {
	t.Parallel()
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		readFrame(ctx, t, ws)
		writeFrames(ctx, ws, &wire.Welcome{Session: "s1"})
		if p, ok := readFrame(ctx, t, ws).(*wire.Ping); ok {
			writeFrames(ctx, ws, &wire.Pong{ID: p.ID})
		}
		ws.Read(ctx)
	})
	c, err := Dial(t.Context(), url, "tok")
	require.NoError(t, err)
	defer c.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Next(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	pong, err := c.PingPong(t.Context(), 7)
	require.NoError(t, err)
	assert.Equal(t, int64(7), pong.ID)
}

func TestSendAndAckPutsOtherFramesAsideInOrder(t *testing.T) {
	t.Parallel()
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		readFrame(ctx, t, ws)
		writeFrames(ctx, ws, &wire.Welcome{Session: "s1"})
		readFrame(ctx, t, ws) // send c1
		writeFrames(ctx, ws,
			&wire.Message{Room: "r1", Seq: 1, Body: "a"},
			&wire.Pong{ID: 1},
			&wire.Ack{Room: "r1", ClientID: "c1", Seq: 2},
			&wire.Message{Room: "r1", Seq: 2, Body: "b"})
		readFrame(ctx, t, ws) // send c2
		writeFrames(ctx, ws, &wire.ErrorFrame{Code: wire.CodeRateLimited, Ref: "c2", RetryAfterMS: 1500})
		ws.Read(ctx)
	})
	c, err := Dial(t.Context(), url, "tok")
	require.NoError(t, err)
	defer c.Close()

	ack, err := c.SendAndAck(t.Context(), "r1", "c1", "b")
	require.NoError(t, err)
	assert.Equal(t, &wire.Ack{Room: "r1", ClientID: "c1", Seq: 2}, ack)

	_, err = c.SendAndAck(t.Context(), "r1", "c2", "c")
	var fe *FrameError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, FrameError{Code: wire.CodeRateLimited, Ref: "c2", RetryAfter: 1500 * time.Millisecond}, *fe)

	want := []wire.Frame{
		&wire.Message{Room: "r1", Seq: 1, Body: "a"},
		&wire.Pong{ID: 1},
		&wire.Message{Room: "r1", Seq: 2, Body: "b"},
	}
	for _, w := range want {
		f, err := c.Next(t.Context())
		require.NoError(t, err)
		assert.Equal(t, w, f)
	}
}

func TestAConnectionCutWithoutACloseFrameEndsWithCloseStatus1006(t *testing.T) {
	t.Parallel()
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn) {
		readFrame(ctx, t, ws)
		writeFrames(ctx, ws, &wire.Welcome{Session: "s1"})
		ws.CloseNow()
	})
	c, err := Dial(t.Context(), url, "tok")
	require.NoError(t, err)
	defer c.Close()

	_, err = c.Next(t.Context())
	require.Error(t, err)
	assert.Equal(t, wire.CloseAbnormal, CloseStatus(err))
	assert.Equal(t, websocket.StatusCode(-1), websocket.CloseStatus(err), "the library saw no close frame")
	<-c.Done()
	assert.Equal(t, err, c.Err())
}

func TestCloseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want wire.CloseCode
	}{
		{"nil is -1", nil, -1},
		{"an unrelated error is -1", errors.New("boom"), -1},
		{"a CloseError gives its code", &CloseError{Code: wire.CloseDraining}, wire.CloseDraining},
		{"a wrapped CloseError gives its code", errors.Join(errors.New("x"), &CloseError{Code: wire.CloseTooBig}), wire.CloseTooBig},
		{"a library close error gives its code", websocket.CloseError{Code: websocket.StatusPolicyViolation}, wire.ClosePolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, CloseStatus(tt.err))
		})
	}
}

func TestCloseErrorRetryAfterReadsTheReason(t *testing.T) {
	t.Parallel()
	e := &CloseError{Code: wire.CloseDraining, Reason: `{"retry_after_ms":5000}`}
	d, err := e.RetryAfter()
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, d)
	_, err = (&CloseError{Code: wire.CloseDraining, Reason: "soon"}).RetryAfter()
	assert.Error(t, err)
}

func TestWSURLPointsAtTheWebSocketEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, want string
	}{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/api/ws"},
		{"http://127.0.0.1:8080/", "ws://127.0.0.1:8080/api/ws"},
		{"https://chat.example.com", "wss://chat.example.com/api/ws"},
		{"https://example.com/tether", "wss://example.com/tether/api/ws"},
		{"ws://h:1", "ws://h:1/api/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.base+" gives "+tt.want, func(t *testing.T) {
			t.Parallel()
			got, err := wsURL(tt.base)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := wsURL("ftp://h")
	assert.Error(t, err)
}

func TestHTTPClientTurnsAnswersIntoResultsAndErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unauthorized","message":"no token"}`))
		case r.Method == http.MethodPost && r.URL.Path == "/api/rooms/r1/messages":
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"client_id":"c1","seq":4,"sent_at":9}`))
		case r.Method == http.MethodPost:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":"rate_limited","message":"slow down"}`))
		case r.URL.Query().Get("since") == "2" && r.URL.Query().Get("wait") == "5":
			w.Write([]byte(`{"messages":[{"room":"r1","seq":3,"body":"x"}],"head":3}`))
		default:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"bad_frame","message":"` + r.URL.RawQuery + `"}`))
		}
	}))
	defer srv.Close()
	h := &HTTPClient{BaseURL: srv.URL, Token: "tok"}
	ctx := t.Context()

	posted, created, err := h.Post(ctx, "r1", "c1", "hi")
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, wire.Posted{ClientID: "c1", Seq: 4, SentAt: 9}, posted)

	page, err := h.Messages(ctx, "r1", 2, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, &wire.MessagesPage{Messages: []wire.Message{{Room: "r1", Seq: 3, Body: "x"}}, Head: 3}, page)

	_, err = h.History(ctx, "r1", 10, 2)
	var he *conn.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, conn.HTTPError{Status: 400, Code: wire.CodeBadFrame, Message: "before=10&limit=2"}, *he)

	_, _, err = h.Post(ctx, "r2", "c1", "hi")
	require.ErrorAs(t, err, &he)
	assert.Equal(t, conn.HTTPError{Status: 429, Code: wire.CodeRateLimited, Message: "slow down", RetryAfter: 3 * time.Second}, *he)

	_, err = (&HTTPClient{BaseURL: srv.URL}).Messages(ctx, "r1", 0, 0)
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusUnauthorized, he.Status)
	assert.Equal(t, wire.CodeUnauthorized, he.Code)
}

func TestHTTPPortReadsHistoryPages(t *testing.T) {
	t.Parallel()
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unauthorized","message":"token expired"}`))
		case r.URL.Path == "/api/rooms/r1/messages":
			queries = append(queries, r.URL.RawQuery)
			w.Write([]byte(`{"messages":[{"room":"r1","seq":4,"body":"x"},{"room":"r1","seq":5,"body":"y"}],"head":9}`))
		default:
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"forbidden","message":"not yours"}`))
		}
	}))
	defer srv.Close()
	h := &HTTP{BaseURL: srv.URL}
	ctx := t.Context()

	page, err := h.History(ctx, "tok", "r1", 6, 2)
	require.NoError(t, err)
	assert.Equal(t, wire.MessagesPage{Messages: []wire.Message{{Room: "r1", Seq: 4, Body: "x"}, {Room: "r1", Seq: 5, Body: "y"}}, Head: 9}, page)
	_, err = h.History(ctx, "tok", "r1", 0, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"before=6&limit=2", "before=9223372036854775807"}, queries,
		"before 0 asks for the newest page with the largest seq; limit 0 leaves the server's default")

	_, err = h.History(ctx, "old", "r1", 6, 2)
	var he *conn.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, conn.HTTPError{Status: 401, Code: wire.CodeUnauthorized, Message: "token expired"}, *he)
	_, err = h.History(ctx, "tok", "r2", 6, 2)
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 403, he.Status)
}
