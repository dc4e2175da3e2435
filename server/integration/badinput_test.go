//go:build !wasm

package integration_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"tether/conn"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/node"
)

func TestBadWebSocketInputGetsItsCodeAndTheServerGoesOn(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	const room = "booking-1"
	casey := join(t, m, room, "casey", wire.RoleCustomer)
	taylorTok := token(t, m, room, "taylor", wire.RoleTherapist)
	ctx := testContext(t)
	stored := len(history(t, casey.http, room))

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"malformed JSON gets bad_frame and the connection stays usable", func(t *testing.T) {
			c := dial(t, m, taylorTok)
			require.NoError(t, c.WriteText(ctx, []byte(`{"type":"send","room":`)))
			f, err := c.Next(ctx)
			require.NoError(t, err)
			require.IsType(t, &wire.ErrorFrame{}, f)
			assert.Equal(t, wire.CodeBadFrame, f.(*wire.ErrorFrame).Code)
			_, err = c.SendAndAck(ctx, room, "t1", "after a bad frame")
			require.NoError(t, err)
			stored++
		}},
		{"a binary frame gets bad_frame and the connection stays usable", func(t *testing.T) {
			c := dial(t, m, taylorTok)
			require.NoError(t, c.WriteBinary(ctx, []byte(`{"type":"ping","id":1}`)))
			f, err := c.Next(ctx)
			require.NoError(t, err)
			require.IsType(t, &wire.ErrorFrame{}, f)
			assert.Equal(t, wire.CodeBadFrame, f.(*wire.ErrorFrame).Code)
			_, err = c.PingPong(ctx, 2)
			require.NoError(t, err)
		}},
		{"ten malformed frames close the connection with 1007", func(t *testing.T) {
			c := dial(t, m, taylorTok)
			for range 10 {
				require.NoError(t, c.WriteText(ctx, []byte(`not json`)))
			}
			requireClosed(t, c, wire.CloseBadData)
		}},
		{"a frame over 64 KiB closes the connection with 1009", func(t *testing.T) {
			c := dial(t, m, taylorTok)
			big := `{"type":"send","room":"` + room + `","client_id":"big","body":"` + strings.Repeat("x", wire.MaxFrameBytes) + `"}`
			c.WriteText(ctx, []byte(big)) // the server may close before it is all written
			requireClosed(t, c, wire.CloseTooBig)
		}},
		{"an empty body gets invalid_body and nothing is stored", func(t *testing.T) {
			c := dial(t, m, taylorTok)
			_, err := c.SendAndAck(ctx, room, "e1", "")
			requireFrameError(t, err, wire.CodeInvalidBody, "e1")
			_, err = c.SendAndAck(ctx, room, "e2", " \n\t ")
			requireFrameError(t, err, wire.CodeInvalidBody, "e2")
		}},
		{"a body of 4001 characters gets invalid_body and nothing is stored", func(t *testing.T) {
			c := dial(t, m, taylorTok)
			_, err := c.SendAndAck(ctx, room, "l1", strings.Repeat("é", wire.MaxBodyChars+1))
			requireFrameError(t, err, wire.CodeInvalidBody, "l1")
			_, err = c.SendAndAck(ctx, room, "l2", strings.Repeat("é", wire.MaxBodyChars))
			require.NoError(t, err, "4000 characters fit")
			stored++
		}},
		{"no hello within the hello timeout closes the connection with 1008", func(t *testing.T) {
			c, err := native.DialRaw(ctx, m.URL())
			require.NoError(t, err)
			defer c.Close()
			start := time.Now()
			requireClosed(t, c, wire.ClosePolicy)
			assert.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond)
		}},
		{"a first frame other than hello gets hello_required and a hello still works", func(t *testing.T) {
			c, err := native.DialRaw(ctx, m.URL())
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Subscribe(ctx, room, 0))
			f, err := c.Next(ctx)
			require.NoError(t, err)
			require.IsType(t, &wire.ErrorFrame{}, f)
			assert.Equal(t, wire.CodeHelloRequired, f.(*wire.ErrorFrame).Code)
			welcome, err := c.Hello(ctx, taylorTok, nil)
			require.NoError(t, err)
			assert.Equal(t, "taylor", welcome.User.ID)
		}},
		{"a bad token closes the connection with 4401", func(t *testing.T) {
			tampered := taylorTok[:len(taylorTok)-2] + "xx"
			for _, tok := range []string{"not-a-token", tampered} {
				_, err := native.Dial(ctx, m.URL(), tok)
				assert.Equal(t, wire.CloseUnauthorized, native.CloseStatus(err), "token %q: %v", tok, err)
			}
		}},
		{"a subprotocol other than tether.v1 is closed with 1008", func(t *testing.T) {
			for _, protocols := range [][]string{{"chat.v2"}, nil} {
				_, err := native.Dial(ctx, m.URL(), taylorTok, native.WithSubprotocols(protocols...))
				assert.Equal(t, wire.ClosePolicy, native.CloseStatus(err), "subprotocols %q: %v", protocols, err)
			}
		}},
		{"a foreign Origin is refused with 403", func(t *testing.T) {
			_, err := native.Dial(ctx, m.URL(), taylorTok, native.WithHeader(http.Header{"Origin": {"https://evil.example"}}))
			var he *conn.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, http.StatusForbidden, he.Status)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t)
			stillServes(t, casey, room)
			stored++
		})
	}
	msgs := history(t, casey.http, room)
	assert.Len(t, msgs, stored)
	for _, msg := range msgs {
		assert.NotEmpty(t, strings.TrimSpace(msg.Body))
		assert.NotContains(t, []string{"e1", "e2", "l1", "big"}, msg.ClientID)
	}
}

func TestBadHTTPInputGetsItsStatusAndCode(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	const room = "booking-1"
	casey := join(t, m, room, "casey", wire.RoleCustomer)
	tok := casey.tok
	path := "/api/rooms/" + room + "/messages"
	post := func(clientID, body string) wire.PostMessage { return wire.PostMessage{ClientID: clientID, Body: body} }

	tests := []struct {
		name   string
		token  string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"no token is 401", "", http.MethodGet, path, nil, 401, wire.CodeUnauthorized},
		{"a bad token is 401", "not-a-token", http.MethodGet, path, nil, 401, wire.CodeUnauthorized},
		{"a post without token is 401", "", http.MethodPost, path, post("n1", "hi"), 401, wire.CodeUnauthorized},
		{"another room is 403", tok, http.MethodGet, "/api/rooms/booking-2/messages", nil, 403, wire.CodeForbidden},
		{"a post to another room is 403", tok, http.MethodPost, "/api/rooms/booking-2/messages", post("f1", "hi"), 403, wire.CodeForbidden},
		{"an invalid room is 400", tok, http.MethodGet, "/api/rooms/-bad/messages", nil, 400, wire.CodeBadFrame},
		{"since with before is 400", tok, http.MethodGet, path + "?since=1&before=5", nil, 400, wire.CodeBadFrame},
		{"a wait of 31 s is 400", tok, http.MethodGet, path + "?since=0&wait=31", nil, 400, wire.CodeBadFrame},
		{"a negative since is 400", tok, http.MethodGet, path + "?since=-1", nil, 400, wire.CodeBadFrame},
		{"a limit over 500 is 400", tok, http.MethodGet, path + "?before=5&limit=501", nil, 400, wire.CodeBadFrame},
		{"a post body over 64 KiB is 413", tok, http.MethodPost, path, post("o1", strings.Repeat("x", wire.MaxFrameBytes)), 413, wire.CodeTooLarge},
		{"a post of bad JSON is 400", tok, http.MethodPost, path, []byte(`{"client_id":`), 400, wire.CodeBadFrame},
		{"a post without client_id is 400", tok, http.MethodPost, path, post("", "hi"), 400, wire.CodeBadFrame},
		{"a post of an empty body is 400 invalid_body", tok, http.MethodPost, path, post("b1", ""), 400, wire.CodeInvalidBody},
		{"a post of a blank body is 400 invalid_body", tok, http.MethodPost, path, post("b2", "  \n "), 400, wire.CodeInvalidBody},
		{"a post of 4001 characters is 400 invalid_body", tok, http.MethodPost, path, post("b3", strings.Repeat("x", wire.MaxBodyChars+1)), 400, wire.CodeInvalidBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := httpClient(m, tt.token)
			_, err := h.Do(testContext(t), tt.method, tt.path, tt.body, nil)
			requireHTTPError(t, err, tt.status, tt.code)
		})
	}
	assert.Empty(t, history(t, casey.http, room), "nothing was stored")
	stillServes(t, casey, room)
}

func TestTokensExpire(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	const room = "booking-1"
	ctx := testContext(t)
	tok, err := native.DevTokenTTL(ctx, m.URL(), room, "casey", "Casey", wire.RoleCustomer, time.Second)
	require.NoError(t, err)
	issued := time.Now()

	// A session ends when its token does.
	c := dial(t, m, tok)
	requireClosed(t, c, wire.CloseUnauthorized)

	// The server allows 5 s of clock skew past the expiry.
	time.Sleep(time.Until(issued.Add(6500 * time.Millisecond)))
	_, err = native.Dial(ctx, m.URL(), tok)
	assert.Equal(t, wire.CloseUnauthorized, native.CloseStatus(err), "err: %v", err)
	_, err = httpClient(m, tok).Messages(ctx, room, 0, 0)
	he := requireHTTPError(t, err, 401, wire.CodeUnauthorized)
	assert.Contains(t, he.Message, "expired")
}

// slowSends lets each user send two messages, then one every 5 s.
func slowSends(m *node.Main) {
	m.Chat.SendRate = rate.Every(5 * time.Second)
	m.Chat.SendBurst = 2
}

func TestSendingTooFastIsRateLimitedPerUser(t *testing.T) {
	t.Parallel()
	const room = "booking-1"
	_, casey, taylor := startChat(t, room, slowSends)
	ctx := testContext(t)

	for _, id := range []string{"c1", "c2"} {
		_, err := casey.ws.SendAndAck(ctx, room, id, "within the burst")
		require.NoError(t, err)
	}
	_, err := casey.ws.SendAndAck(ctx, room, "c3", "one too many")
	fe := requireFrameError(t, err, wire.CodeRateLimited, "c3")
	assert.Positive(t, fe.RetryAfter)

	_, _, err = casey.http.Post(ctx, room, "c4", "one too many")
	he := requireHTTPError(t, err, http.StatusTooManyRequests, wire.CodeRateLimited)
	assert.GreaterOrEqual(t, he.RetryAfter, time.Second, "Retry-After is set")

	// Another user's budget is their own.
	_, err = taylor.ws.SendAndAck(ctx, room, "t1", "my turn")
	require.NoError(t, err)
	_, created, err := taylor.http.Post(ctx, room, "t2", "my turn again")
	require.NoError(t, err)
	assert.True(t, created)
	_, err = casey.ws.PingPong(ctx, 1)
	require.NoError(t, err, "the limited connection stays open")
	assert.Equal(t, []string{"c1", "c2", "t1", "t2"}, clientIDs(history(t, taylor.http, room)))
}

func clientIDs(msgs []wire.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ClientID
	}
	return out
}
