//go:build !wasm

package chat

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/httpjson"
	"tether/server/metrics"
)

// maxPostBytes bounds a POST body: a message of 4000 characters of four
// bytes each, JSON-escaped, fits with room to spare.
const maxPostBytes = wire.MaxFrameBytes

// defaultPageLimit is the page size when the request names none.
const defaultPageLimit = 100

// writeError answers with an HTTP error in the protocol's JSON form.
func writeError(w http.ResponseWriter, m *metrics.Metrics, status int, code, message string) {
	if m != nil {
		m.Errors.WithLabelValues(code).Inc()
	}
	httpjson.Write(w, status, wire.ErrorBody{Code: code, Message: message})
}

// storeFailed answers 503 with Retry-After 1 to a request the store failed,
// answer saying what did not happen, and logs why with logMsg and logArgs.
// A request whose client went away is neither answered nor logged: no one
// reads the answer, and the store failed only for being cancelled.
func (h *Hub) storeFailed(w http.ResponseWriter, r *http.Request, answer, logMsg string, logArgs ...any) {
	if r.Context().Err() != nil {
		return
	}
	h.log.Error(logMsg, logArgs...)
	w.Header().Set("Retry-After", "1")
	writeError(w, h.metrics, http.StatusServiceUnavailable, wire.CodeInternal, answer)
}

// verify checks the bearer token; it answers the 401 itself and returns
// nil claims when the request may not go on.
func (h *Hub) verify(w http.ResponseWriter, r *http.Request) *auth.Claims {
	token, ok := auth.BearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tether"`)
		writeError(w, h.metrics, http.StatusUnauthorized, wire.CodeUnauthorized, "an Authorization: Bearer token is required")
		return nil
	}
	claims, err := h.auth.Verify(token)
	if err != nil {
		msg := "invalid token"
		if errors.Is(err, auth.ErrExpiredToken) {
			msg = "token expired"
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="tether", error="invalid_token"`)
		writeError(w, h.metrics, http.StatusUnauthorized, wire.CodeUnauthorized, msg)
		return nil
	}
	return claims
}

// authorize checks the bearer token and the room; it answers the error
// itself and returns nil claims when the request may not go on.
func (h *Hub) authorize(w http.ResponseWriter, r *http.Request) (*auth.Claims, string) {
	claims := h.verify(w, r)
	if claims == nil {
		return nil, ""
	}
	room := r.PathValue("room")
	if !wire.ValidRoom(room) {
		writeError(w, h.metrics, http.StatusBadRequest, wire.CodeBadFrame, "invalid room")
		return nil, ""
	}
	if !h.canAccess(r.Context(), claims, room) {
		writeError(w, h.metrics, http.StatusForbidden, wire.CodeForbidden, "you are not a participant of "+room)
		return nil, ""
	}
	return claims, room
}

// queryInt reads an integer query parameter within [lo, hi]; absent gives def.
func queryInt(r *http.Request, name string, def, lo, hi int64) (int64, bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, false, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, true, errors.New(name + " must be a whole number from " + strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10))
	}
	return v, true, nil
}

// ServeMessages answers GET /api/rooms/{room}/messages: a long-poll with
// since and wait, or a history page with before and limit.
func (h *Hub) ServeMessages(w http.ResponseWriter, r *http.Request) {
	claims, room := h.authorize(w, r)
	if room == "" {
		return
	}
	since, hasSince, err1 := queryInt(r, "since", 0, 0, math.MaxInt64)
	before, hasBefore, err2 := queryInt(r, "before", 0, 1, math.MaxInt64)
	wait, _, err3 := queryInt(r, "wait", 0, 0, wire.MaxWaitSeconds)
	limit, _, err4 := queryInt(r, "limit", defaultPageLimit, 1, wire.MaxPageLimit)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		writeError(w, h.metrics, http.StatusBadRequest, wire.CodeBadFrame, err.Error())
		return
	}
	if hasSince && hasBefore {
		writeError(w, h.metrics, http.StatusBadRequest, wire.CodeBadFrame, "since and before cannot be combined")
		return
	}
	ctx := r.Context()
	budget := bucketPoll
	if hasBefore {
		budget = bucketRead
	}
	if !h.allowRead(w, r, claims.Subject, budget) {
		return
	}
	if hasBefore {
		if !h.takeHeld(w, r, claims.Subject, h.historyPages()) {
			return
		}
		defer h.giveHeld(&h.counts.pages, claims.Subject)
		start := time.Now()
		msgs, err := h.store.Before(ctx, room, before, int(limit))
		h.metrics.ObserveStore("before", start)
		h.answerPage(w, r, claims.Subject, room, msgs, err)
		return
	}

	// Take the room's wake channel before reading, so a message stored
	// between the read and the wait still wakes this poll.
	rm := h.acquire(room)
	defer h.release(room)
	var timeout <-chan time.Time
	if wait > 0 {
		if !h.takeHeld(w, r, claims.Subject, h.longPolls()) {
			return
		}
		t := time.NewTimer(time.Duration(wait) * time.Second)
		defer t.Stop()
		timeout = t.C
		h.metrics.LongPolls.Inc()
		defer h.metrics.LongPolls.Dec()
		// Before the gauge drops: who sees it drop finds the place free.
		defer h.giveHeld(&h.counts.polls, claims.Subject)
	}
	for {
		wake := h.waitChan(rm)
		start := time.Now()
		msgs, err := h.store.After(ctx, room, since, int(limit))
		h.metrics.ObserveStore("after", start)
		if err != nil || len(msgs) > 0 || timeout == nil {
			h.answerPage(w, r, claims.Subject, room, msgs, err)
			return
		}
		select {
		case <-wake:
		case <-timeout:
			timeout = nil // one last read, then answer
		case <-h.drained:
			timeout = nil
		case <-ctx.Done():
			return
		}
	}
}

func (h *Hub) answerPage(w http.ResponseWriter, r *http.Request, userID, room string, msgs []wire.Message, err error) {
	var head int64
	if err == nil {
		head, err = h.store.Head(r.Context(), room)
	}
	if err != nil {
		h.storeFailed(w, r, "failed to read the room's messages", "failed to read messages", "room", room, "err", err)
		return
	}
	h.writePage(w, r, userID, msgs, head)
}

// writePage answers a page of messages as httpjson.Write would
// (wire.MessagesPage), a chunk at a time under the user's bulk budget
// (Limits.BulkRate), so that a page of long messages is never encoded in
// one go ahead of everybody else's messages. A page cut by the client or
// the write deadline ends where it is.
func (h *Hub) writePage(w http.ResponseWriter, r *http.Request, userID string, msgs []wire.Message, head int64) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, min(bulkChunk, 1024*(len(msgs)+1))+4096)
	buf = append(buf, `{"messages":[`...)
	flush := func() bool {
		if err := h.pace(r.Context(), userID, len(buf)); err != nil {
			return false
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		return err == nil
	}
	for i := range msgs {
		if i > 0 {
			buf = append(buf, ',')
		}
		b, err := json.Marshal(&msgs[i])
		if err != nil {
			// A message read from the store always encodes; a page cut
			// here is seen by the client as broken, never as whole.
			h.log.Error("failed to encode a message", "room", msgs[i].Room, "seq", msgs[i].Seq, "err", err)
			return
		}
		buf = append(buf, b...)
		if len(buf) >= bulkChunk && !flush() {
			return
		}
	}
	buf = append(buf, `],"head":`...)
	buf = strconv.AppendInt(buf, head, 10)
	buf = append(buf, "}\n"...)
	flush()
}

// ServeRooms answers GET /api/rooms?limit=L: the rooms the token may see
// that hold messages, each with its head and last message, the most
// recently active first, so an inbox lists them in one read. A token with
// every room (dev mode only, as for the other endpoints) sees every room.
func (h *Hub) ServeRooms(w http.ResponseWriter, r *http.Request) {
	claims := h.verify(w, r)
	if claims == nil {
		return
	}
	limit, _, err := queryInt(r, "limit", wire.DefaultRoomsLimit, 1, wire.MaxRoomsLimit)
	if err != nil {
		writeError(w, h.metrics, http.StatusBadRequest, wire.CodeBadFrame, err.Error())
		return
	}
	if !h.allowRead(w, r, claims.Subject, bucketRead) {
		return
	}
	only, all, err := h.visibleRooms(r.Context(), claims)
	if err != nil {
		h.storeFailed(w, r, "failed to list the rooms", "failed to list a user's bookings", "user", claims.Subject, "err", err)
		return
	}
	if !all && len(only) == 0 {
		httpjson.Write(w, http.StatusOK, wire.RoomsPage{Rooms: []wire.RoomInfo{}})
		return
	}
	if all {
		only = nil // the store's every room; never passed otherwise
	}
	start := time.Now()
	rooms, err := h.store.Rooms(r.Context(), only, int(limit))
	h.metrics.ObserveStore("rooms", start)
	if err != nil {
		h.storeFailed(w, r, "failed to list the rooms", "failed to list rooms", "user", claims.Subject, "err", err)
		return
	}
	if rooms == nil {
		rooms = []wire.RoomInfo{} // [], never null
	}
	if claims.Sid != "" && h.bookingStore != nil {
		// A session's bookings are its rooms from the start: the ones
		// without a message yet follow the others, head 0.
		has := make(map[string]bool, len(rooms))
		for _, r := range rooms {
			has[r.Room] = true
		}
		for _, room := range only {
			if !has[room] && len(rooms) < int(limit) {
				rooms = append(rooms, wire.RoomInfo{Room: room})
			}
		}
	}
	httpjson.Write(w, http.StatusOK, wire.RoomsPage{Rooms: rooms})
}

// ServePost answers POST /api/rooms/{room}/messages: 201 with the ack, or
// 200 with the first ack when the client_id was seen before.
func (h *Hub) ServePost(w http.ResponseWriter, r *http.Request) {
	claims, room := h.authorize(w, r)
	if room == "" {
		return
	}
	var post wire.PostMessage
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPostBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, h.metrics, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "the body is over 64 KiB")
			return
		}
		writeError(w, h.metrics, http.StatusBadRequest, wire.CodeBadFrame, "failed to read the body")
		return
	}
	if err := json.Unmarshal(body, &post); err != nil {
		writeError(w, h.metrics, http.StatusBadRequest, wire.CodeBadFrame, "the body must be a JSON object with client_id and body")
		return
	}
	if !wire.ValidClientID(post.ClientID) {
		writeError(w, h.metrics, http.StatusBadRequest, wire.CodeBadFrame, "invalid client_id")
		return
	}
	if err := wire.ValidateBody(post.Body); err != nil {
		writeError(w, h.metrics, http.StatusBadRequest, wire.CodeInvalidBody, err.Error())
		return
	}
	if h.cancelled(r.Context(), room) {
		writeError(w, h.metrics, http.StatusConflict, wire.CodeCancelled, cancelledMessage)
		return
	}
	if ok, wait := h.allowSend(claims.Subject); !ok {
		retryAfterHeader(w, wait)
		writeError(w, h.metrics, http.StatusTooManyRequests, wire.CodeRateLimited, "too many messages; wait before sending again")
		return
	}
	msg, created, err := h.appendMessage(r.Context(), claims.User(), room, post.ClientID, post.Body)
	switch {
	case errors.Is(err, errDraining):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(h.cfg.DrainWindow.Seconds()))))
		writeError(w, h.metrics, http.StatusServiceUnavailable, wire.CodeUnavailable, "the server is restarting")
		return
	case err != nil:
		h.storeFailed(w, r, "the message was not stored; send it again", "failed to store a message", "room", room, "err", err)
		return
	}
	h.metrics.Acks.Inc()
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpjson.Write(w, status, wire.Posted{ClientID: msg.ClientID, Seq: msg.Seq, SentAt: msg.SentAt})
}

// allowRead takes a read from the user's budget b (bucketRead for history
// pages and room lists, bucketPoll for reads with since); past it it
// answers 429 with Retry-After itself and returns false.
func (h *Hub) allowRead(w http.ResponseWriter, r *http.Request, userID string, b bucket) bool {
	ok, wait := h.allow(userID, b)
	if !ok {
		wait -= h.holdRefusal(r, userID, wait)
		retryAfterHeader(w, wait)
		writeError(w, h.metrics, http.StatusTooManyRequests, wire.CodeRateLimited, "too many reads; wait before reading again")
	}
	return ok
}

// heldCap is a cap on what a user holds at once over HTTP (long-polls,
// history pages), and what its refusals say.
type heldCap struct {
	counts            *held
	maxUser, maxTotal int
	// userWait is how long a refusal by the user's cap is held, and then
	// the Retry-After it answers.
	userWait                 time.Duration
	userRefusal, fullRefusal string
}

// takeHeld counts one more of the user in c.counts; past c.maxUser it
// answers 429, past c.maxTotal 503, both with Retry-After, and returns
// false. giveHeld ends what it began.
func (h *Hub) takeHeld(w http.ResponseWriter, r *http.Request, userID string, c heldCap) bool {
	h.mu.Lock()
	refused := c.counts.take(userID, c.maxUser, c.maxTotal)
	h.mu.Unlock()
	switch refused {
	case http.StatusTooManyRequests:
		h.holdRefusal(r, userID, c.userWait)
		retryAfterHeader(w, c.userWait)
		writeError(w, h.metrics, http.StatusTooManyRequests, wire.CodeRateLimited, c.userRefusal)
		return false
	case http.StatusServiceUnavailable:
		retryAfterHeader(w, h.cfg.RefuseRetryAfter)
		writeError(w, h.metrics, http.StatusServiceUnavailable, wire.CodeUnavailable, c.fullRefusal)
		return false
	}
	return true
}

// historyPages caps the history pages in flight: MaxUserPages of a user,
// MaxPages in all.
func (h *Hub) historyPages() heldCap {
	return heldCap{
		counts: &h.counts.pages, maxUser: h.cfg.MaxUserPages, maxTotal: h.cfg.MaxPages,
		userWait:    time.Second,
		userRefusal: "wait for your other history pages before asking for more",
		fullRefusal: "the server is sending all the history pages it can",
	}
}

// longPolls caps the long-polls waiting: MaxUserLongPolls of a user,
// MaxLongPolls in all.
func (h *Hub) longPolls() heldCap {
	return heldCap{
		counts: &h.counts.polls, maxUser: h.cfg.MaxUserLongPolls, maxTotal: h.cfg.MaxLongPolls,
		userWait:    h.cfg.RefuseRetryAfter,
		userRefusal: "too many long-polls of yours are waiting",
		fullRefusal: "the server holds all the long-polls it can",
	}
}
