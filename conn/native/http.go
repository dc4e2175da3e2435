//go:build !wasm

package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// newHTTPError reads res's status, Retry-After and JSON error body into the
// port's error, the one both ports return. cause is the library's error of
// a refused WebSocket upgrade, or nil.
func newHTTPError(res *http.Response, cause error) *conn.HTTPError {
	e := &conn.HTTPError{Status: res.StatusCode, Cause: cause}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	if res.Body == nil {
		return e
	}
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var body wire.ErrorBody
	if json.Unmarshal(data, &body) == nil && body.Code != "" {
		e.Code, e.Message = body.Code, body.Message
	} else {
		e.Message = strings.TrimSpace(string(data))
	}
	return e
}

// HTTPClient speaks the HTTP fallback of protocol v1 with a bearer token.
type HTTPClient struct {
	// BaseURL is the server, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Token goes in Authorization: Bearer; none is sent when empty.
	Token string
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
}

// Messages asks for the messages of room after seq since. A wait above 0
// makes it a long-poll that answers as soon as there is one, or empty after
// wait (whole seconds).
func (h *HTTPClient) Messages(ctx context.Context, room string, since int64, wait time.Duration) (*wire.MessagesPage, error) {
	var page wire.MessagesPage
	if _, err := h.Do(ctx, http.MethodGet, wire.PollPath(room, since, wait, 0), nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// History asks for up to limit messages of room before seq before, the
// newest of them, in seq order. before 0 means from the newest message;
// limit 0 takes the server's default.
func (h *HTTPClient) History(ctx context.Context, room string, before int64, limit int) (*wire.MessagesPage, error) {
	var page wire.MessagesPage
	if _, err := h.Do(ctx, http.MethodGet, wire.HistoryPath(room, before, limit), nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Post sends a message. created is true for 201 (stored now) and false for
// 200 (the client_id was stored before; Posted is the first answer).
func (h *HTTPClient) Post(ctx context.Context, room, clientID, body string) (posted wire.Posted, created bool, err error) {
	status, err := h.Do(ctx, http.MethodPost, wire.MessagesPath(room), wire.PostMessage{ClientID: clientID, Body: body}, &posted)
	if err != nil {
		return wire.Posted{}, false, err
	}
	return posted, status == http.StatusCreated, nil
}

// Ping checks that the server answers GET /api/ping.
func (h *HTTPClient) Ping(ctx context.Context) error {
	_, err := h.Do(ctx, http.MethodGet, "/api/ping", nil, nil)
	return err
}

// Do sends a request to path (with its query) under BaseURL. in, unless
// nil, is the body: []byte as is, anything else as JSON. A 2xx answer is
// decoded into out unless out is nil; any other is a *conn.HTTPError. It
// returns the status.
func (h *HTTPClient) Do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		data, ok := in.([]byte)
		if !ok {
			var err error
			if data, err = json.Marshal(in); err != nil {
				return 0, fmt.Errorf("failed to encode the request: %w", err)
			}
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(h.BaseURL, "/")+path, body)
	if err != nil {
		return 0, fmt.Errorf("failed to make the request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("failed to send %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, newHTTPError(res, nil)
	}
	if out == nil {
		io.Copy(io.Discard, res.Body) // lets the connection be reused
		return res.StatusCode, nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return res.StatusCode, fmt.Errorf("failed to decode the answer of %s %s: %w", method, path, err)
	}
	return res.StatusCode, nil
}

// DevToken asks a server started with -dev for a token of user (display
// name, role customer, therapist or place) for room.
func DevToken(ctx context.Context, baseURL, room, user, name, role string) (string, error) {
	return DevTokenTTL(ctx, baseURL, room, user, name, role, 0)
}

// DevTokenTTL is DevToken with a lifetime (whole seconds; 0 takes the
// server's default).
func DevTokenTTL(ctx context.Context, baseURL, room, user, name, role string, ttl time.Duration) (string, error) {
	q := url.Values{"room": {room}, "user": {user}, "name": {name}, "role": {role}}
	if ttl > 0 {
		q.Set("ttl", strconv.Itoa(int(math.Ceil(ttl.Seconds()))))
	}
	var tok wire.DevToken
	h := HTTPClient{BaseURL: baseURL}
	if _, err := h.Do(ctx, http.MethodGet, "/api/dev/token?"+q.Encode(), nil, &tok); err != nil {
		return "", err
	}
	if tok.Token == "" {
		return "", errors.New("the server answered an empty dev token")
	}
	return tok.Token, nil
}
