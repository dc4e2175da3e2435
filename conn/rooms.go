package conn

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"tether/conn/wire"
)

// Rooms: subscriptions survive every reconnect. The hello's resume carries
// the last seq of each room; a subscribe carries it for rooms wanted later.
// Messages are delivered in seq order, exactly once per seq: duplicates are
// dropped, a message past a gap waits in the room's buffer while the gap is
// read over HTTP, and a replay that did not recover everything
// (recovered:false) is completed page by page up to the head it announced.

// ErrForbidden is what a room's onError receives when the user is not a
// participant of it (a forbidden error frame, a 4403, an HTTP 403).
var ErrForbidden = errors.New("not a participant of this room")

// ErrCancelled is told to a room's subscribers when its booking is
// cancelled (contract v2): the room stays readable, and takes no message.
var ErrCancelled = errors.New("the booking is cancelled")

type room struct {
	wanted  bool
	failed  bool
	lastSeq int64  // the last seq delivered, in order
	askedAt uint64 // when a hello or subscribe last named it (for 4403)
	live    bool   // subscribed answered on this socket

	replayEnd int64 // recovered:false: the socket's replay covers up to here
	pageTo    int64 // recovered:false: read over HTTP up to this head
	fetchedTo int64 // the highest seq read over HTTP on this socket

	buffer []wire.Message // past a gap, sorted by seq, all > lastSeq+1

	fetchReq   uint64
	fetchAt    time.Time
	fetchSince int64

	pollReq       uint64
	pollAt        time.Time
	pollNotBefore time.Time

	// resubscribeAt: the socket refused the room's subscribe (rate_limited
	// with ref = room); the tick asks again from then.
	resubscribeAt time.Time
}

func (m *Machine) room(name string) *room {
	r := m.rooms[name]
	if r == nil {
		r = &room{}
		m.rooms[name] = r
	}
	return r
}

func (m *Machine) wantRoom(name string, after int64) {
	if !wire.ValidRoom(name) {
		return
	}
	r := m.room(name)
	if r.wanted {
		return
	}
	r.wanted, r.failed = true, false
	if r.lastSeq == 0 && after > 0 {
		// Nothing delivered yet: start where the caller's page ended. A
		// room seen before resumes from its own seq, whatever the caller
		// read meanwhile.
		r.lastSeq = after
		m.emit(Persist{})
	}
	if m.ws == wsHandshake || m.ws == wsOpen {
		m.subscribe(name, r)
	}
	m.pollAll()
}

func (m *Machine) subscribe(name string, r *room) {
	r.resubscribeAt = time.Time{}
	r.askedAt = m.newID()
	m.resumeSince[name] = r.lastSeq
	m.emit(SendFrame{Gen: m.gen, Frame: &wire.Subscribe{Room: name, Since: r.lastSeq}})
}

func (m *Machine) unwantRoom(name string) {
	r := m.rooms[name]
	if r == nil || !r.wanted {
		return
	}
	if (m.ws == wsHandshake || m.ws == wsOpen) && !r.failed {
		m.emit(SendFrame{Gen: m.gen, Frame: &wire.Unsubscribe{Room: name}})
	}
	m.quiet(r)
	r.wanted = false
	delete(m.resumeSince, name)
}

// quiet stops everything a room has in flight and forgets its gap.
func (m *Machine) quiet(r *room) {
	if r.pollReq != 0 {
		m.emit(Cancel{Req: r.pollReq})
		r.pollReq = 0
	}
	if r.fetchReq != 0 {
		m.emit(Cancel{Req: r.fetchReq})
		r.fetchReq = 0
	}
	r.live = false
	r.buffer = nil
	r.replayEnd, r.pageTo, r.fetchedTo = 0, 0, 0
}

func (m *Machine) onSubscribed(f *wire.Subscribed) {
	r := m.rooms[f.Room]
	if r == nil || !r.wanted || r.failed {
		return
	}
	r.live = true
	r.replayEnd, r.pageTo = 0, 0
	if !f.Recovered {
		since, ok := m.resumeSince[f.Room]
		if !ok {
			since = r.lastSeq
		}
		r.replayEnd = since + wire.ReplayLimit
		r.pageTo = f.Head
		m.logAttrs(slog.LevelInfo, "Replay incomplete: paging the rest over HTTP", "room", f.Room, "from", r.replayEnd, "head", f.Head)
	}
	m.maybeFetch(f.Room, r)
}

func (m *Machine) onMessage(msg wire.Message) {
	r := m.rooms[msg.Room]
	if r == nil || !r.wanted || r.failed {
		return
	}
	m.accept(msg.Room, r, []wire.Message{msg})
}

// accept takes messages from any source (socket, poll, history page), drops
// what was delivered, delivers what is next in order and keeps the rest.
func (m *Machine) accept(name string, r *room, msgs []wire.Message) {
	for _, msg := range msgs {
		if msg.ClientID != "" {
			m.ackedByMessage(msg)
		}
		if msg.Seq <= r.lastSeq {
			continue
		}
		i, found := slices.BinarySearchFunc(r.buffer, msg.Seq, func(b wire.Message, seq int64) int {
			return cmp.Compare(b.Seq, seq)
		})
		if !found {
			r.buffer = slices.Insert(r.buffer, i, msg)
		}
	}
	n := 0
	for n < len(r.buffer) && r.buffer[n].Seq == r.lastSeq+1 {
		r.lastSeq++
		n++
	}
	if n > 0 {
		out := slices.Clone(r.buffer[:n])
		r.buffer = slices.Clone(r.buffer[n:])
		if len(r.buffer) == 0 {
			r.buffer = nil
		}
		m.emit(Deliver{Room: name, Messages: out}, Persist{})
	}
	if r.replayEnd != 0 && r.lastSeq >= r.replayEnd {
		r.replayEnd = 0
	}
	if r.pageTo != 0 && r.lastSeq >= r.pageTo {
		r.pageTo = 0
	}
	m.maybeFetch(name, r)
}

// maybeFetch reads the next page of a gap, or of what a replay did not
// recover, unless one is in flight or polling covers the room anyway.
func (m *Machine) maybeFetch(name string, r *room) {
	if r.fetchReq != 0 || !r.wanted || r.failed || m.polling || m.token == "" || m.refreshing() {
		return
	}
	target := r.pageTo
	if n := len(r.buffer); n > 0 {
		target = max(target, r.buffer[n-1].Seq-1)
	}
	cursor := max(r.lastSeq, r.replayEnd, r.fetchedTo)
	if target <= cursor {
		return
	}
	r.fetchReq = m.newID()
	r.fetchAt = m.now
	r.fetchSince = cursor
	limit := int(min(int64(wire.MaxPageLimit), target-cursor))
	m.logAttrs(slog.LevelDebug, "Reading missed messages", "room", name, "since", cursor, "limit", limit)
	m.emit(FetchHistory{Req: r.fetchReq, Token: m.token, Room: name, Since: cursor, Limit: limit})
}

func (m *Machine) onHistory(ev HistoryDone) {
	r := m.rooms[ev.Room]
	if r == nil || !answers(&r.fetchReq, ev.Req) {
		return
	}
	if ev.Err != nil {
		switch status, _ := StatusOf(ev.Err); status {
		case 401:
			m.tokenRefused("history refused: " + ev.Err.Error())
		case 403:
			m.failRoom(ev.Room, fmt.Errorf("failed to read %s: %w", ev.Room, ErrForbidden))
		default:
			// The tick tries again.
			m.logAttrs(slog.LevelDebug, "Reading missed messages failed", "room", ev.Room, "err", ev.Err.Error())
		}
		return
	}
	since := r.fetchSince
	progress := false
	for _, msg := range ev.Page.Messages {
		if msg.Seq > since {
			progress = true
			r.fetchedTo = max(r.fetchedTo, msg.Seq)
		}
	}
	if !progress {
		// Nothing exists past since: the seqs of the gap are not on the
		// server (or the replay will bring them). Skip rather than wait
		// forever.
		r.pageTo = 0
		if n := len(r.buffer); n > 0 {
			if r.lastSeq >= since {
				m.logAttrs(slog.LevelWarn, "Messages missing on the server: skipping", "room", ev.Room, "from", r.lastSeq+1, "to", r.buffer[0].Seq-1)
				r.lastSeq = r.buffer[0].Seq - 1
			} else {
				r.fetchedTo = max(r.fetchedTo, r.buffer[n-1].Seq)
			}
		}
	}
	m.accept(ev.Room, r, ev.Page.Messages)
}

// failRoom fails one room for good (until it is subscribed again); the
// others go on.
func (m *Machine) failRoom(name string, err error) {
	if name == "" || !wire.ValidRoom(name) {
		return
	}
	r := m.room(name)
	if r.failed {
		return
	}
	if !errors.Is(err, ErrForbidden) {
		err = fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	m.quiet(r)
	r.failed = true
	delete(m.resumeSince, name)
	m.logAttrs(slog.LevelWarn, "Room failed", "room", name, "err", err.Error())
	m.emit(FailRoom{Room: name, Err: err})
	for i := range m.outbox {
		if m.outbox[i].Room == name && !m.outbox[i].Failed {
			m.failMessage(i, err.Error())
		}
	}
}

func (m *Machine) onErrorFrame(f *wire.ErrorFrame) {
	retry := time.Duration(f.RetryAfterMS) * time.Millisecond
	switch f.Code {
	case wire.CodeForbidden:
		name := f.Ref
		if i := m.outboxIndex(f.Ref); i >= 0 {
			name = m.outbox[i].Room
		}
		m.failRoom(name, fmt.Errorf("failed to subscribe to %s: %w", name, ErrForbidden))
	case wire.CodeRateLimited:
		if r := m.rooms[f.Ref]; r != nil && m.outboxIndex(f.Ref) < 0 {
			// A subscribe (or hello's resume of the room) past the socket's
			// budget: nothing was replayed; without asking again the room
			// would stay silent until the next socket.
			if r.wanted && !r.failed && !r.live {
				r.resubscribeAt = m.now.Add(max(retry, m.cfg.BaseReconnectDelay))
			}
			return
		}
		m.outboxWait(f.Ref, max(retry, m.cfg.BaseReconnectDelay), false)
	case wire.CodeInternal:
		m.outboxWait(f.Ref, max(retry, m.cfg.BaseReconnectDelay), true)
	case wire.CodeUnavailable:
		m.outboxHold(f.Ref)
	case wire.CodeCancelled:
		if i := m.outboxIndex(f.Ref); i >= 0 {
			m.failMessage(i, f.Code+": "+f.Message)
			m.flushOutbox()
			return
		}
		if wire.ValidRoom(f.Ref) {
			m.logAttrs(slog.LevelInfo, "Booking cancelled: the chat is read-only", "room", f.Ref)
			m.emit(FailRoom{Room: f.Ref, Err: ErrCancelled})
		}
	case wire.CodeInvalidBody, wire.CodeBadFrame, wire.CodeConflict, wire.CodeTooLarge:
		if i := m.outboxIndex(f.Ref); i >= 0 {
			m.failMessage(i, f.Code+": "+f.Message)
			m.flushOutbox()
			return
		}
		m.logAttrs(slog.LevelWarn, "Server refused a frame", "code", f.Code, "message", f.Message, "ref", f.Ref)
	default:
		m.logAttrs(slog.LevelWarn, "Server error", "code", f.Code, "message", f.Message, "ref", f.Ref)
	}
}

// resubscribeDue asks again for the rooms whose subscribe the socket
// refused once their retry_after_ms is over. The tick calls it.
func (m *Machine) resubscribeDue() {
	if m.ws != wsOpen {
		return
	}
	// Every tick runs this: nothing is allocated or sorted unless a room is
	// due, which is rare.
	var due []string
	for name, r := range m.rooms {
		if r.resubscribeAt.IsZero() || m.now.Before(r.resubscribeAt) {
			continue
		}
		if !r.wanted || r.failed || r.live {
			r.resubscribeAt = time.Time{}
			continue
		}
		due = append(due, name)
	}
	slices.Sort(due) // the frames go out in a stable order
	for _, name := range due {
		m.subscribe(name, m.rooms[name])
	}
}
