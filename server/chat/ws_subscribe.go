//go:build !wasm

package chat

import (
	"sync"
	"time"

	"tether/conn/wire"
)

// subscription is one room of one connection. While its replay is read it
// keeps live messages in pending, so the subscriber sees the replay and the
// live messages in seq order, without a gap or a repeat.
type subscription struct {
	conn *wsConn
	room string

	mu        sync.Mutex
	replaying bool
	pending   []pendingMessage
	last      int64 // the last seq queued to the connection
}

type ackKey struct{ room, clientID string }

type pendingMessage struct {
	seq   int64
	frame []byte
}

// deliver queues one live message, m encoded as frame; it runs on the
// store's writer goroutine and never blocks.
func (s *subscription) deliver(m *wire.Message, frame []byte) {
	seq := m.Seq
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replaying {
		if len(s.pending) >= s.conn.hub.cfg.SendQueue {
			s.conn.slow()
			return
		}
		s.pending = append(s.pending, pendingMessage{seq, frame})
		return
	}
	if seq <= s.last {
		return
	}
	if s.conn.enqueueEcho(frame, ackKey{m.Room, m.ClientID}) {
		s.last = seq
	}
}

// subscribe replays what the client missed in room, then keeps it live.
func (c *wsConn) subscribe(room string, since int64) {
	h := c.hub
	if ok, wait := c.subscribes.take(time.Now(), h.cfg.SubscribeRate, h.cfg.SubscribeBurst); !ok {
		c.sendError(wire.CodeRateLimited, "too many subscribes; wait before subscribing again", room, wait)
		return
	}
	if !h.canAccess(c.ctx, c.claims, room) {
		c.sendError(wire.CodeForbidden, "you are not a participant of "+room, room, 0)
		return
	}
	if old := c.subs[room]; old != nil {
		delete(c.subs, room)
		h.removeSub(old)
	}
	s := &subscription{conn: c, room: room, replaying: true}
	h.addSub(s)
	c.subs[room] = s

	// Read and queued one of the user's rooms at a time (see lockReplay);
	// the live messages that wait meanwhile follow after the unlock.
	unlock := h.lockReplay(c.claims.Subject)
	last, ok := c.replay(s, room, since)
	unlock()
	if !ok {
		return
	}
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.last = last
			s.replaying = false
			s.mu.Unlock()
			return
		}
		pending := s.pending
		s.pending = nil
		s.mu.Unlock()
		for _, p := range pending {
			if p.seq <= last {
				continue
			}
			if !c.enqueueWait(p.frame) {
				return
			}
			last = p.seq
		}
	}
}

// replay reads and queues what the client missed in room after since, up
// to the user's replay budget, and returns the last seq it covers.
func (c *wsConn) replay(s *subscription, room string, since int64) (last int64, ok bool) {
	h := c.hub
	start := time.Now()
	// The user's replay budget bounds what is read as well as what is sent;
	// the rest the client pages over HTTP, as for a gap over the limit.
	limit := h.replayAvailable(c.claims.Subject, wire.ReplayLimit)
	replay, err := h.store.After(c.ctx, room, since, limit+1)
	var head int64
	if err == nil {
		head, err = h.store.Head(c.ctx, room)
	}
	h.metrics.ObserveStore("replay", start)
	if err != nil {
		delete(c.subs, room)
		h.removeSub(s)
		if c.ctx.Err() == nil {
			h.log.Error("failed to read a replay", "room", room, "err", err)
			c.sendError(wire.CodeInternal, "failed to read the room's messages", room, 0)
		}
		return 0, false
	}
	recovered := len(replay) <= limit
	if !recovered {
		replay = replay[:limit]
	}
	if granted := h.takeReplay(c.claims.Subject, len(replay)); granted < len(replay) {
		replay, recovered = replay[:granted], false
	}

	// Live messages wait in s.pending meanwhile, so the replay is queued
	// without holding s.mu: Publish never waits for this reader.
	last = since
	if !c.send(&wire.Subscribed{Room: room, Head: head, Recovered: recovered}) {
		return 0, false
	}
	// Paced a chunk at a time under the user's bulk budget (Limits.BulkRate).
	chunk := 0
	for i := range replay {
		b, err := wire.Encode(&replay[i])
		if err != nil {
			h.log.Error("failed to encode a frame", "type", replay[i].FrameType(), "err", err)
			return 0, false
		}
		if chunk += len(b); chunk >= bulkChunk {
			if h.pace(c.ctx, c.claims.Subject, chunk) != nil {
				return 0, false
			}
			chunk = 0
		}
		if !c.enqueueWait(b) {
			return 0, false
		}
		last = replay[i].Seq
	}
	if chunk > 0 && h.pace(c.ctx, c.claims.Subject, chunk) != nil {
		return 0, false
	}
	h.metrics.Replayed.Add(float64(len(replay)))
	if !recovered {
		// The client pages (last, head] over HTTP; live messages start
		// after head.
		last = max(last, head)
	}
	return last, true
}
