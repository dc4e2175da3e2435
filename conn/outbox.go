package conn

import (
	"fmt"
	"log/slog"
	"time"

	"tether/conn/wire"
)

// The outbox: every message the user sends waits here, persisted, until
// the server acks it. Messages go out in order on whatever transport works
// (a few in flight on a socket, one at a time over HTTP so the order
// holds), are sent again when no ack comes within AckTimeout, and are
// stored exactly once because the server is idempotent on client_id. After
// MaxSendAttempts unanswered sends, or a permanent refusal, a message is
// failed; Retry sends it again. A send lost with its transport (a socket
// that closes, a post that fails on the network) is no unanswered send: it
// waits for the link, which the user cannot fix by pressing Retry.

// wsWindow is how many messages may wait for their ack on a socket: enough
// to flush a backlog fast, few enough not to trip the server's rate limit.
const wsWindow = 8

type outboxItem struct {
	OutboxEntry
	tries     int       // sends that got no answer or a retryable error
	inflight  bool      // sent, waiting for the ack
	viaPost   bool      // in flight over HTTP rather than a socket
	via       uint64    // the socket generation, or the Post request
	sentAt    time.Time // when it went out, for the ack timeout
	notBefore time.Time // rate limited: not before then
	holdGen   uint64    // the server is draining: not on this socket again
}

// Outbox lists the messages not acked yet, pending or failed, in order.
func (m *Machine) Outbox() []OutboxEntry {
	out := make([]OutboxEntry, len(m.outbox))
	for i, it := range m.outbox {
		out[i] = it.OutboxEntry
	}
	return out
}

// OutboxVersion changes whenever the outbox does.
func (m *Machine) OutboxVersion() uint64 { return m.outboxVersion }

func (m *Machine) outboxChanged() {
	m.outboxVersion++
	m.emit(Persist{})
}

func (m *Machine) outboxIndex(clientID string) int {
	if clientID == "" {
		return -1
	}
	for i := range m.outbox {
		if m.outbox[i].ClientID == clientID {
			return i
		}
	}
	return -1
}

func (m *Machine) enqueue(e OutboxEntry) {
	if !wire.ValidClientID(e.ClientID) || !wire.ValidRoom(e.Room) || m.outboxIndex(e.ClientID) >= 0 {
		return
	}
	e.Failed, e.LastError = false, ""
	m.outbox = append(m.outbox, outboxItem{OutboxEntry: e})
	m.outboxChanged()
	m.flushOutbox()
}

// flushOutbox sends what may go now, on the transport there is.
func (m *Machine) flushOutbox() {
	if m.closed || m.unauthorized {
		return
	}
	switch {
	case m.ws == wsOpen:
		m.flushWebSocket()
	case m.polling:
		m.flushPost()
	}
	m.armOutboxTimer()
}

func (m *Machine) flushWebSocket() {
	inflight := 0
	for _, it := range m.outbox {
		if it.inflight && !it.viaPost {
			inflight++
		}
	}
	for i := range m.outbox {
		it := &m.outbox[i]
		if it.Failed {
			continue
		}
		if it.inflight {
			if it.viaPost {
				// A post still out from before the socket: the server
				// may store it any moment, so what follows waits for
				// its answer (or its ack timeout), or it could be
				// stored first.
				return
			}
			continue
		}
		if it.notBefore.After(m.now) || it.holdGen == m.gen || inflight >= wsWindow {
			return // later ones wait: the order holds
		}
		it.inflight, it.viaPost, it.via, it.sentAt = true, false, m.gen, m.now
		inflight++
		m.emit(SendFrame{Gen: m.gen, Frame: &wire.Send{Room: it.Room, ClientID: it.ClientID, Body: it.Body}})
	}
}

func (m *Machine) flushPost() {
	if m.token == "" || m.refreshing() {
		return
	}
	for i := range m.outbox {
		it := &m.outbox[i]
		if it.Failed {
			continue
		}
		if it.inflight || it.notBefore.After(m.now) {
			return // one at a time, in order
		}
		it.inflight, it.viaPost, it.via, it.sentAt = true, true, m.newID(), m.now
		m.emit(Post{Req: it.via, Token: m.token, Room: it.Room, ClientID: it.ClientID, Body: it.Body})
		return
	}
}

// armOutboxTimer wakes the outbox at the next ack deadline or end of a wait.
func (m *Machine) armOutboxTimer() {
	var due time.Time
	for _, it := range m.outbox {
		var at time.Time
		switch {
		case it.Failed:
			continue
		case it.inflight:
			at = it.sentAt.Add(m.cfg.AckTimeout)
		case it.notBefore.After(m.now):
			at = it.notBefore
		default:
			continue
		}
		if due.IsZero() || at.Before(due) {
			due = at
		}
	}
	if due.IsZero() {
		m.stopTimer(TimerOutbox)
		return
	}
	if m.timers[TimerOutbox] != 0 && due.Equal(m.outboxDue) {
		return
	}
	m.outboxDue = due
	m.startTimer(TimerOutbox, due.Sub(m.now))
}

func (m *Machine) onOutboxTimer() {
	for i := range m.outbox {
		it := &m.outbox[i]
		if !it.inflight || m.now.Sub(it.sentAt) < m.cfg.AckTimeout {
			continue
		}
		if it.viaPost {
			m.emit(Cancel{Req: it.via})
		}
		m.logAttrs(slog.LevelWarn, "No ack: sending again", "client_id", it.ClientID, "after", m.cfg.AckTimeout.String())
		m.unanswered(i, "no ack within "+m.cfg.AckTimeout.String(), 0)
	}
	m.flushOutbox()
}

// unanswered counts a send that got no answer; too many fail the message.
func (m *Machine) unanswered(i int, reason string, wait time.Duration) {
	it := &m.outbox[i]
	it.inflight = false
	it.tries++
	if it.tries >= m.cfg.MaxSendAttempts {
		m.failMessage(i, fmt.Sprintf("%s (%d tries)", reason, it.tries))
		return
	}
	it.notBefore = m.now.Add(wait)
}

func (m *Machine) failMessage(i int, reason string) {
	it := &m.outbox[i]
	if it.inflight && it.viaPost {
		m.emit(Cancel{Req: it.via})
	}
	it.Failed, it.LastError, it.inflight = true, reason, false
	m.logAttrs(slog.LevelWarn, "Message failed", "client_id", it.ClientID, "reason", reason)
	m.outboxChanged()
}

// acked removes a message the server stored.
func (m *Machine) acked(clientID string, seq int64) {
	i := m.outboxIndex(clientID)
	if i < 0 {
		return
	}
	m.logAttrs(slog.LevelDebug, "Message acked", "client_id", clientID, "seq", seq)
	m.outbox = append(m.outbox[:i], m.outbox[i+1:]...)
	m.outboxChanged()
	m.flushOutbox()
}

// ackedByMessage treats our own message coming back as its ack: the server
// stored it, whatever happened to the ack frame.
func (m *Machine) ackedByMessage(msg wire.Message) {
	if i := m.outboxIndex(msg.ClientID); i >= 0 && m.outbox[i].Room == msg.Room {
		m.acked(msg.ClientID, msg.Seq)
	}
}

func (m *Machine) onPosted(ev PostDone) {
	i := m.outboxIndex(ev.ClientID)
	if i < 0 {
		return
	}
	it := &m.outbox[i]
	current := it.inflight && it.viaPost && it.via == ev.Req
	if ev.Err == nil {
		m.acked(ev.ClientID, ev.Posted.Seq)
		return
	}
	if !current {
		return
	}
	it.inflight = false
	switch status, he := StatusOf(ev.Err); status {
	case 401:
		m.tokenRefused("post refused: " + ev.Err.Error())
	case 403:
		m.failRoom(it.Room, fmt.Errorf("failed to send to %s: %w", it.Room, ErrForbidden))
	case 400, 409, 413:
		m.failMessage(i, he.Code+": "+he.Message)
	case 429, 503:
		it.notBefore = m.now.Add(max(he.RetryAfter, m.cfg.PollInterval))
	case 0:
		// The network failed, not the server: like a socket that closes
		// under a send, no try is counted. The polls find out whether the
		// link is gone; the message waits for it, however long.
		it.notBefore = m.now.Add(m.cfg.PollInterval)
	default:
		m.unanswered(i, ev.Err.Error(), m.cfg.PollInterval)
	}
	m.flushOutbox()
}

// outboxWait holds a message back after a retryable refusal.
func (m *Machine) outboxWait(clientID string, d time.Duration, countTry bool) {
	i := m.outboxIndex(clientID)
	if i < 0 {
		return
	}
	if countTry {
		m.unanswered(i, "server failed to store it", d)
	} else {
		m.outbox[i].inflight = false
		m.outbox[i].notBefore = m.now.Add(d)
	}
	m.flushOutbox()
}

// outboxHold keeps a message off a draining server's socket: it goes out
// again after the reconnect.
func (m *Machine) outboxHold(clientID string) {
	if i := m.outboxIndex(clientID); i >= 0 {
		m.outbox[i].inflight = false
		m.outbox[i].holdGen = m.gen
		m.armOutboxTimer()
	}
}

// unsendWebSocket puts back what waited for an ack on a socket that is
// gone: it goes out again on the next transport, without counting a try.
func (m *Machine) unsendWebSocket() {
	for i := range m.outbox {
		if it := &m.outbox[i]; it.inflight && !it.viaPost {
			it.inflight = false
		}
	}
}

func (m *Machine) retryMessage(clientID string) {
	i := m.outboxIndex(clientID)
	if i < 0 || !m.outbox[i].Failed {
		return
	}
	it := &m.outbox[i]
	it.Failed, it.LastError, it.tries, it.notBefore, it.holdGen = false, "", 0, time.Time{}, 0
	if r := m.rooms[it.Room]; r != nil && r.failed && !r.wanted {
		r.failed = false
	}
	m.outboxChanged()
	m.flushOutbox()
}

func (m *Machine) discardMessage(clientID string) {
	i := m.outboxIndex(clientID)
	if i < 0 {
		return
	}
	if it := m.outbox[i]; it.inflight && it.viaPost {
		m.emit(Cancel{Req: it.via})
	}
	m.outbox = append(m.outbox[:i], m.outbox[i+1:]...)
	m.outboxChanged()
	m.armOutboxTimer()
}
