package conn

import "slices"

// Tabs of one user share one place in storage (localStorage is per origin,
// not per tab). Each writes its own outbox there without erasing the
// others': every entry names the tab that owns it, a tab's save replaces
// its own entries only, and one client id is held once. A tab that starts,
// or learns that another one ended, takes over that tab's entries
// (TakeOver) and sends them; the server's dedupe by client id makes a
// message sent by two tabs land once.

// SharedSnapshot is the snapshot of every tab of one user.
type SharedSnapshot struct {
	Outbox  []SharedEntry    `json:"outbox"`
	LastSeq map[string]int64 `json:"last_seq"`
}

// SharedEntry is an outbox entry and the tab that owns it ("" for one
// written before tabs were told apart: nobody's, anyone may take it).
type SharedEntry struct {
	OutboxEntry
	Tab string `json:"tab,omitempty"`
}

// With returns s with tab's snapshot in it: tab's entries are snap's
// outbox (an entry of another tab with the same client id becomes tab's),
// the others' stay, and each room keeps the highest seq either knew.
func (s SharedSnapshot) With(tab string, snap Snapshot) SharedSnapshot {
	mine := make(map[string]bool, len(snap.Outbox))
	for _, e := range snap.Outbox {
		mine[e.ClientID] = true
	}
	out := SharedSnapshot{LastSeq: map[string]int64{}}
	for _, e := range s.Outbox {
		if e.Tab != tab && !mine[e.ClientID] {
			out.Outbox = append(out.Outbox, e)
		}
	}
	for _, e := range snap.Outbox {
		out.Outbox = append(out.Outbox, SharedEntry{OutboxEntry: e, Tab: tab})
	}
	for room, seq := range s.LastSeq {
		out.LastSeq[room] = seq
	}
	for room, seq := range snap.LastSeq {
		out.LastSeq[room] = max(out.LastSeq[room], seq)
	}
	return out
}

// Own returns tab's entries.
func (s SharedSnapshot) Own(tab string) []OutboxEntry {
	var out []OutboxEntry
	for _, e := range s.Outbox {
		if e.Tab == tab {
			out = append(out, e.OutboxEntry)
		}
	}
	return out
}

// TakeOver moves to tab the entries take accepts (of other tabs) and
// returns s so changed and the entries taken.
func (s SharedSnapshot) TakeOver(tab string, take func(SharedEntry) bool) (SharedSnapshot, []OutboxEntry) {
	out := SharedSnapshot{Outbox: slices.Clone(s.Outbox), LastSeq: s.LastSeq}
	var taken []OutboxEntry
	for i, e := range out.Outbox {
		if e.Tab != tab && take(e) {
			out.Outbox[i].Tab = tab
			taken = append(taken, e.OutboxEntry)
		}
	}
	return out, taken
}

// Owners lists the tabs other than tab that own entries, each once.
func (s SharedSnapshot) Owners(tab string) []string {
	var out []string
	for _, e := range s.Outbox {
		if e.Tab != "" && e.Tab != tab && !slices.Contains(out, e.Tab) {
			out = append(out, e.Tab)
		}
	}
	return out
}

// Adopt hands the service messages another tab left unsent (its tab ended):
// each is sent as if this tab had written it, under its own client id, so
// the server stores it once whichever tab gets there. Entries already in
// the outbox are ignored.
func (s *Service) Adopt(entries []OutboxEntry) {
	if s.closing.Load() {
		return
	}
	for _, e := range entries {
		s.post(SendRequested{Entry: e})
	}
}
