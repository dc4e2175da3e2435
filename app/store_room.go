package app

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// chatRoom is one room of the Store. The store's lock guards it, except
// ctx, which loads read on their own goroutine.
type chatRoom struct {
	name        string
	ctx         context.Context // ends with Leave or Close: abandons a page
	cancel      context.CancelFunc
	unsubscribe func()
	watchers    []*watcher[RoomView]

	msgs      []wire.Message  // sorted by seq, each seq once
	delivered map[string]bool // the client ids among msgs
	own       []ownMessage    // the user's messages not in msgs yet, in send order

	err     string // the room failed: the user is not a participant
	loadErr string // the last page could not be read
	// forbidden says err is the server refusing the user this room.
	forbidden bool
	// cancelled says the room's booking was cancelled: read-only.
	cancelled bool
	loading   bool
	pageRead  bool // a history page was read: the recent past is known
	atStart   bool // a page reached the room's first message

	// Unread counts the messages of others past both marks. The baseline
	// is the room's newest seq when the store first read its history
	// (nothing counts before that): what was there before the user opened
	// the app counts as read.
	baseline    int64
	baselineSet bool
	lastRead    int64

	// The messages of others that came in during an outage are marked new
	// (their seq is past newAfter, the newest seq held when the link went
	// down) until the user writes in the room with the link back.
	newAfter int64
	newSet   bool
	// recent are the seqs of others' messages that came in lately, and
	// when: a page that runs again gets what its socket held before it
	// hears that it woke.
	recent []recentArrival
}

type recentArrival struct {
	seq int64
	at  time.Time
}

// wakeLookback is how long before a wake is heard the messages that came in
// count as having come while away.
const wakeLookback = 2 * time.Second

// arrived notes that msg of another came in live at now.
func (r *chatRoom) arrived(seq int64, now time.Time) {
	r.recent = append(r.recent, recentArrival{seq, now})
	for len(r.recent) > 0 && now.Sub(r.recent[0].at) > 2*wakeLookback {
		r.recent = r.recent[1:]
	}
}

// markWake marks as new what comes in after the page woke, and what came
// in just before it heard so.
func (r *chatRoom) markWake(now time.Time) {
	first := int64(0)
	for _, a := range r.recent {
		if now.Sub(a.at) <= wakeLookback && (first == 0 || a.seq < first) {
			first = a.seq
		}
	}
	if first == 0 {
		r.markOutage()
		return
	}
	if !r.newSet || first-1 < r.newAfter {
		r.newSet, r.newAfter = true, first-1
	}
}

// markOutage notes where the messages held end, as the link goes down:
// what comes after, from others, is new. An outage while earlier marks
// still show adds to them.
func (r *chatRoom) markOutage() {
	if r.newSet {
		return
	}
	r.newSet = true
	r.newAfter = 0
	if len(r.msgs) > 0 {
		r.newAfter = r.msgs[len(r.msgs)-1].Seq
	}
}

// ownMessage is one of the user's messages that the outbox holds, or that
// left it (the server stored it) and whose stored copy is on its way.
type ownMessage struct {
	entry conn.OutboxEntry
	// seen is set once an outbox the service reported listed it; leaving
	// the outbox after that means it was stored.
	seen bool
}

func newChatRoom(parent context.Context, name string) *chatRoom {
	ctx, cancel := context.WithCancel(parent)
	return &chatRoom{name: name, ctx: ctx, cancel: cancel, delivered: map[string]bool{}}
}

func (r *chatRoom) failed() bool { return r.err != "" }

// hasOlder reports whether messages older than those held may exist.
func (r *chatRoom) hasOlder() bool {
	return !r.failed() && !r.atStart && (len(r.msgs) == 0 || r.msgs[0].Seq > 1)
}

// oldest is the seq to read history before: the oldest held, or 0 (the
// newest page) when none is.
func (r *chatRoom) oldest() int64 {
	if len(r.msgs) == 0 {
		return 0
	}
	return r.msgs[0].Seq
}

func (r *chatRoom) newest() int64 {
	if len(r.msgs) == 0 {
		return 0
	}
	return r.msgs[len(r.msgs)-1].Seq
}

// merge adds the messages not held yet, in seq order, and reports whether
// anything changed. A message is held once: by seq, and by client id (a
// message that both comes back to its sender and is read in a page). Its
// pending copy in own goes.
func (r *chatRoom) merge(msgs []wire.Message) bool {
	changed := false
	for _, msg := range msgs {
		if msg.Room != r.name || msg.Seq <= 0 || (msg.ClientID != "" && r.delivered[msg.ClientID]) {
			continue
		}
		i, found := slices.BinarySearchFunc(r.msgs, msg.Seq, func(m wire.Message, seq int64) int {
			return cmp.Compare(m.Seq, seq)
		})
		if found {
			continue
		}
		r.msgs = slices.Insert(r.msgs, i, msg)
		changed = true
		if msg.ClientID != "" {
			r.delivered[msg.ClientID] = true
			r.dropOwn(msg.ClientID)
		}
	}
	return changed
}

// addOwn adds one of the user's messages unless it is held already, as a
// message or as its own, or was discarded.
func (r *chatRoom) addOwn(e conn.OutboxEntry, seen bool, discarded map[string]bool) bool {
	if r.delivered[e.ClientID] || discarded[e.ClientID] || r.ownIndex(e.ClientID) >= 0 {
		return false
	}
	r.own = append(r.own, ownMessage{entry: e, seen: seen})
	return true
}

func (r *chatRoom) ownIndex(clientID string) int {
	return slices.IndexFunc(r.own, func(o ownMessage) bool { return o.entry.ClientID == clientID })
}

func (r *chatRoom) dropOwn(clientID string) bool {
	i := r.ownIndex(clientID)
	if i < 0 {
		return false
	}
	r.own = slices.Delete(r.own, i, i+1)
	return true
}

// applyOutbox takes the service's outbox: entries of the room update the
// user's messages or add those it did not know (sent before a reload). An
// entry that left the outbox was stored, and stays pending until its stored
// copy arrives, so it never blinks out; unless it had failed: a failed
// message leaves only when it is discarded.
func (r *chatRoom) applyOutbox(entries []conn.OutboxEntry, discarded map[string]bool) bool {
	inOutbox := map[string]conn.OutboxEntry{}
	for _, e := range entries {
		if e.Room == r.name {
			inOutbox[e.ClientID] = e
		}
	}
	changed := false
	kept := r.own[:0]
	for _, o := range r.own {
		if e, ok := inOutbox[o.entry.ClientID]; ok {
			changed = changed || o.entry != e
			o.entry, o.seen = e, true
		} else if o.seen && o.entry.Failed {
			changed = true
			continue
		}
		kept = append(kept, o)
	}
	r.own = kept
	for _, e := range entries {
		if e.Room == r.name && r.addOwn(e, true, discarded) {
			changed = true
		}
	}
	return changed
}

// pageDone takes the answer to the history page read before seq before.
func (r *chatRoom) pageDone(before int64, limit int, msgs []wire.Message, err error) {
	r.loading = false
	if err != nil {
		if r.ctx.Err() != nil {
			return // abandoned: the room was left
		}
		r.loadErr = err.Error()
		if errors.Is(err, conn.ErrForbidden) {
			r.err, r.forbidden = r.loadErr, true
		}
		return
	}
	r.loadErr = ""
	r.pageRead = true
	if !r.baselineSet {
		r.baselineSet = true
		if before > 0 {
			r.baseline = before - 1
		}
		for _, msg := range msgs {
			r.baseline = max(r.baseline, msg.Seq)
		}
	}
	if len(msgs) < limit || (len(msgs) > 0 && msgs[0].Seq <= 1) {
		r.atStart = true
	}
	r.merge(msgs)
}

// markRead marks every message held read; it reports whether the unread
// count may have changed.
func (r *chatRoom) markRead() bool {
	newest := r.newest()
	if r.baselineSet && r.lastRead >= newest {
		return false
	}
	r.baselineSet = true
	r.lastRead = max(r.lastRead, newest)
	return true
}

// unread counts the messages of others past the read marks.
func (r *chatRoom) unread(mine func(wire.Message) bool) int {
	if !r.baselineSet {
		return 0
	}
	mark := max(r.baseline, r.lastRead)
	n := 0
	for i := len(r.msgs) - 1; i >= 0 && r.msgs[i].Seq > mark; i-- {
		if !mine(r.msgs[i]) {
			n++
		}
	}
	return n
}
