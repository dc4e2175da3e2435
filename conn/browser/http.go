//go:build js && wasm

package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hack-pad/safejs"

	"tether/conn"
	"tether/conn/wire"
)

// HTTP is the server's HTTP API over the browser's fetch: the probe, the
// long-poll fallback, history and posting. Every request carries an
// AbortController tied to its context, so a cancelled call (a closed
// service) leaves nothing in flight.
type HTTP struct {
	// BaseURL is the server, e.g. https://chat.example (no trailing slash).
	BaseURL string

	inFlight atomic.Int64
}

var _ conn.HTTP = (*HTTP)(nil)

// InFlight is the number of requests started and not yet settled.
func (h *HTTP) InFlight() int { return int(h.inFlight.Load()) }

// Ping probes GET /api/ping.
func (h *HTTP) Ping(ctx context.Context) error {
	_, err := h.do(ctx, "GET", "/api/ping", "", nil, nil)
	return err
}

// Messages long-polls a room: the messages after since, waiting up to wait.
func (h *HTTP) Messages(ctx context.Context, token, room string, since int64, wait time.Duration, limit int) (wire.MessagesPage, error) {
	var page wire.MessagesPage
	_, err := h.do(ctx, "GET", wire.PollPath(room, since, wait, limit), token, nil, &page)
	return page, err
}

// History reads the page of messages before seq before; before 0 reads the
// newest page.
func (h *HTTP) History(ctx context.Context, token, room string, before int64, limit int) (wire.MessagesPage, error) {
	var page wire.MessagesPage
	_, err := h.do(ctx, "GET", wire.HistoryPath(room, before, limit), token, nil, &page)
	return page, err
}

// Post sends a message; a repeat of clientID gets the first answer.
func (h *HTTP) Post(ctx context.Context, token, room, clientID, body string) (wire.Posted, error) {
	var posted wire.Posted
	_, err := h.do(ctx, "POST", wire.MessagesPath(room), token, wire.PostMessage{ClientID: clientID, Body: body}, &posted)
	return posted, err
}

// do runs one fetch and decodes a JSON answer into out. An answer that is
// not a success is a *conn.HTTPError with the server's code, message and
// Retry-After; a request that never got an answer is another error.
func (h *HTTP) do(ctx context.Context, method, path, token string, in, out any) (int, error) {
	return h.fetch(ctx, method, path, token, "omit", in, out)
}

// withCookies is do for the session's routes, whose cookie (HttpOnly, on
// /api/session) the browser alone reads and sends: no other request
// carries it.
func (h *HTTP) withCookies(ctx context.Context, method, path string, in, out any) (int, error) {
	return h.fetch(ctx, method, path, "", "same-origin", in, out)
}

func (h *HTTP) fetch(ctx context.Context, method, path, token, credentials string, in, out any) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fetch, err := global("fetch")
	if err != nil {
		return 0, err
	}
	abortCtor, err := global("AbortController")
	if err != nil {
		return 0, err
	}
	controller, err := abortCtor.New()
	if err != nil {
		return 0, fmt.Errorf("failed to create an AbortController: %w", err)
	}
	signal, err := controller.Get("signal")
	if err != nil {
		return 0, err
	}

	headers := map[string]any{"Accept": "application/json"}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	init := map[string]any{
		"method":  method,
		"headers": headers,
		"signal":  safejs.Unsafe(signal),
		// A probe or a poll answered from a cache would lie about the
		// network.
		"cache":       "no-store",
		"credentials": credentials,
	}
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		headers["Content-Type"] = "application/json"
		init["body"] = string(data)
	}
	initJS, err := safejs.ValueOf(init)
	if err != nil {
		return 0, err
	}

	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Abort the fetch when the call is cancelled, and after it ends so a
	// body still streaming is dropped too.
	stop := context.AfterFunc(rctx, func() { controller.Call("abort") })
	defer stop()
	defer controller.Call("abort")

	promise, err := fetch.Invoke(h.BaseURL+path, initJS)
	if err != nil {
		return 0, fmt.Errorf("failed to fetch %s: %w", path, err)
	}
	res, err := Await(rctx, promise)
	if err != nil {
		return 0, fetchError(ctx, path, err)
	}
	status, err := intProp(res, "status")
	if err != nil {
		return 0, err
	}
	textPromise, err := res.Call("text")
	if err != nil {
		return status, err
	}
	textV, err := Await(rctx, textPromise)
	if err != nil {
		return status, fetchError(ctx, path, err)
	}
	text, err := textV.String()
	if err != nil {
		return status, err
	}

	if status < 200 || status > 299 {
		he := &conn.HTTPError{Status: status, Code: "http_" + strconv.Itoa(status), Message: strings.TrimSpace(text)}
		var body wire.ErrorBody
		if json.Unmarshal([]byte(text), &body) == nil && body.Code != "" {
			he.Code, he.Message = body.Code, body.Message
		}
		if hdrs, err := res.Get("headers"); err == nil {
			if v, err := hdrs.Call("get", "Retry-After"); err == nil && v.Type() == safejs.TypeString {
				s, _ := v.String()
				if secs, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && secs >= 0 {
					he.RetryAfter = time.Duration(secs) * time.Second
				}
			}
		}
		return status, he
	}
	if out != nil && status != 204 {
		if err := json.Unmarshal([]byte(text), out); err != nil {
			return status, fmt.Errorf("failed to decode the answer of %s (HTTP %d): %w", path, status, err)
		}
	}
	return status, nil
}

// fetchError says why a fetch failed: the caller's context, or the network
// (fetch rejects with a TypeError and no more detail, on purpose).
func fetchError(ctx context.Context, path string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var je *JSError
	if errors.As(err, &je) && je.Name == "AbortError" {
		return context.Canceled
	}
	return fmt.Errorf("failed to fetch %s: %w", path, err)
}

// Me reads the token's user and their bookings (GET /api/me, contract v2).
func (h *HTTP) Me(ctx context.Context, token string) (wire.Me, error) {
	var me wire.Me
	_, err := h.do(ctx, "GET", "/api/me", token, nil, &me)
	return me, err
}

// Rooms lists the rooms the token may see that hold messages, newest
// activity first (GET /api/rooms).
func (h *HTTP) Rooms(ctx context.Context, token string, limit int) ([]wire.RoomInfo, error) {
	path := "/api/rooms"
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var page wire.RoomsPage
	_, err := h.do(ctx, "GET", path, token, nil, &page)
	return page.Rooms, err
}
