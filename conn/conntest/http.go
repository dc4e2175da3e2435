package conntest

import (
	"context"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// HTTP is the server's conn.HTTP.
type HTTP struct{ s *Server }

var _ conn.HTTP = (*HTTP)(nil)

func (h *HTTP) hang(ctx context.Context) bool {
	h.s.mu.Lock()
	hang := h.s.hangHTTP
	var w *waiter
	if hang {
		w = h.s.newWaiter()
	}
	h.s.mu.Unlock()
	if hang {
		h.s.park(ctx, w)
	}
	return hang
}

// Ping answers unless unplugged or told to fail.
func (h *HTTP) Ping(ctx context.Context) error {
	if h.hang(ctx) {
		return ctx.Err()
	}
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pings++
	return s.httpFaultLocked("ping")
}

func (s *Server) checkLocked(op, token, room string) error {
	if err := s.httpFaultLocked(op); err != nil {
		return err
	}
	if !s.tokenOK(token) {
		return &conn.HTTPError{Status: 401, Code: wire.CodeUnauthorized, Message: "invalid token"}
	}
	if s.forbidden[room] {
		return &conn.HTTPError{Status: 403, Code: wire.CodeForbidden, Message: "you are not a participant of " + room}
	}
	return nil
}

// Messages answers with the messages after since, holding the call up to
// wait (on the fake clock) when there are none.
func (h *HTTP) Messages(ctx context.Context, token, room string, since int64, wait time.Duration, limit int) (wire.MessagesPage, error) {
	if h.hang(ctx) {
		return wire.MessagesPage{}, ctx.Err()
	}
	s := h.s
	s.mu.Lock()
	s.polls++
	if err := s.checkLocked("messages", token, room); err != nil {
		s.mu.Unlock()
		return wire.MessagesPage{}, err
	}
	if limit <= 0 || limit > wire.MaxPageLimit {
		limit = wire.MaxPageLimit
	}
	page := s.pageLocked(room, since, limit)
	if len(page.Messages) > 0 || wait <= 0 || s.noLongPoll {
		s.mu.Unlock()
		return page, nil
	}
	var t conn.Timer
	w := s.newWaiter(func(w *waiter) {
		s.waiters[w] = struct{}{}
		t = s.clock.AfterFunc(wait, w.wake)
	})
	s.mu.Unlock()
	s.park(ctx, w)
	t.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.waiters, w)
	if err := ctx.Err(); err != nil {
		return wire.MessagesPage{}, err
	}
	if s.unplugged {
		return wire.MessagesPage{}, ErrUnreachable
	}
	return s.pageLocked(room, since, limit), nil
}

func (s *Server) pageLocked(room string, since int64, limit int) wire.MessagesPage {
	r := s.roomLocked(room)
	page := wire.MessagesPage{Messages: []wire.Message{}, Head: int64(len(r.msgs))}
	for _, msg := range r.msgs {
		if msg.Seq > since && len(page.Messages) < limit {
			page.Messages = append(page.Messages, msg)
		}
	}
	return page
}

// History answers with up to limit messages before seq before, the newest
// of them; before 0 or less means from the newest message, as the port
// says.
func (h *HTTP) History(ctx context.Context, token, room string, before int64, limit int) (wire.MessagesPage, error) {
	if h.hang(ctx) {
		return wire.MessagesPage{}, ctx.Err()
	}
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.histories++
	if err := s.checkLocked("history", token, room); err != nil {
		return wire.MessagesPage{}, err
	}
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	limit = min(limit, wire.MaxPageLimit)
	r := s.roomLocked(room)
	end := len(r.msgs) // r.msgs[i] has seq i+1
	if before > 0 {
		end = int(min(before-1, int64(end)))
	}
	start := max(end-limit, 0)
	return wire.MessagesPage{Messages: append([]wire.Message{}, r.msgs[start:end]...), Head: int64(len(r.msgs))}, nil
}

// DefaultPageLimit is the page size of History when the call names none,
// the real server's default.
const DefaultPageLimit = 100

// Post stores a message once per client_id.
func (h *HTTP) Post(ctx context.Context, token, room, clientID, body string) (wire.Posted, error) {
	if h.hang(ctx) {
		return wire.Posted{}, ctx.Err()
	}
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts++
	if err := s.checkLocked("post", token, room); err != nil {
		return wire.Posted{}, err
	}
	if err := wire.ValidateBody(body); err != nil {
		return wire.Posted{}, &conn.HTTPError{Status: 400, Code: wire.CodeInvalidBody, Message: err.Error()}
	}
	msg, _ := s.appendLocked(room, clientID, body, s.user)
	return wire.Posted{ClientID: msg.ClientID, Seq: msg.Seq, SentAt: msg.SentAt}, nil
}
