package conn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tether/conn"
)

func entry(id string) conn.OutboxEntry {
	return conn.OutboxEntry{ClientID: id, Room: "room-1", Body: "b " + id}
}

func ids(es []conn.OutboxEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ClientID)
	}
	return out
}

func TestTabsShareTheirSnapshotWithoutErasingEachOther(t *testing.T) {
	t.Parallel()
	var s conn.SharedSnapshot
	// Two tabs type while offline; each saves only what it knows.
	s = s.With("A", conn.Snapshot{Outbox: []conn.OutboxEntry{entry("a1")}, LastSeq: map[string]int64{"room-1": 4}})
	s = s.With("B", conn.Snapshot{Outbox: []conn.OutboxEntry{entry("b1")}, LastSeq: map[string]int64{"room-1": 2}})
	s = s.With("A", conn.Snapshot{Outbox: []conn.OutboxEntry{entry("a1"), entry("a2")}})
	assert.Equal(t, []string{"a1", "a2"}, ids(s.Own("A")))
	assert.Equal(t, []string{"b1"}, ids(s.Own("B")), "A's saves never erase B's entries")
	assert.Equal(t, int64(4), s.LastSeq["room-1"], "the highest seq either knew")

	// B acks its message: gone from B's entries, A's stay.
	s = s.With("B", conn.Snapshot{})
	assert.Empty(t, s.Own("B"))
	assert.Equal(t, []string{"a1", "a2"}, ids(s.Own("A")))
	assert.Equal(t, []string{"A"}, s.Owners("B"))

	// A's tab closed: B takes its entries over, once.
	s, taken := s.TakeOver("B", func(e conn.SharedEntry) bool { return e.Tab == "A" })
	assert.Equal(t, []string{"a1", "a2"}, ids(taken))
	assert.Equal(t, []string{"a1", "a2"}, ids(s.Own("B")))
	assert.Empty(t, s.Owners("B"))
	_, again := s.TakeOver("B", func(e conn.SharedEntry) bool { return e.Tab == "A" })
	assert.Empty(t, again)

	// One client id is held once: B saving a1 keeps one copy, B's.
	s = s.With("B", conn.Snapshot{Outbox: []conn.OutboxEntry{entry("a1")}})
	assert.Equal(t, []string{"a1"}, ids(s.Own("B")))
	assert.Len(t, s.Outbox, 1)
}

func TestAdoptedMessagesAreSentOnce(t *testing.T) {
	h := parallelHarness(t)
	left := conn.OutboxEntry{ClientID: "tab-a-1", Room: "room-1", Body: "typed in a tab that closed", Created: h.clock.Now()}
	h.svc.Adopt([]conn.OutboxEntry{left})
	h.settle()
	h.svc.Adopt([]conn.OutboxEntry{left}) // told twice: by the storage, then by a late save
	h.settle()
	msgs := h.srv.Messages("room-1")
	if assert.Len(t, msgs, 1) {
		assert.Equal(t, "typed in a tab that closed", msgs[0].Body)
		assert.Equal(t, "tab-a-1", msgs[0].ClientID, "under the client id it was written with")
	}
	assert.Empty(t, h.svc.Outbox())
}
