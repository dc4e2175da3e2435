//go:build !wasm

package main

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"time"

	"tether/conn"
)

// roomLog is what one client of the storm received of its room, checked as
// it arrives: every seq once, in order, none missing. Seqs are dense from 1
// (the store's promise), so a bitmap of the seqs seen says all three. The
// zero value is ready; one goroutine owns it.
type roomLog struct {
	seen       []uint64 // bit s-1: seq s arrived
	last       int64    // the highest seq that arrived
	doubled    int      // arrivals of a seq that had arrived before
	outOfOrder int      // arrivals of a seq below one that had arrived
	invalid    int      // seqs below 1, which no message has
}

// add records one arrival of seq.
func (l *roomLog) add(seq int64) {
	if seq < 1 {
		l.invalid++
		return
	}
	if l.has(seq) {
		l.doubled++
		return
	}
	word := int((seq - 1) / 64)
	for len(l.seen) <= word {
		l.seen = append(l.seen, 0)
	}
	l.seen[word] |= 1 << ((seq - 1) % 64)
	if seq < l.last {
		l.outOfOrder++
	}
	l.last = max(l.last, seq)
}

// has reports whether seq has arrived.
func (l *roomLog) has(seq int64) bool {
	word := int((seq - 1) / 64)
	return seq >= 1 && word < len(l.seen) && l.seen[word]&(1<<((seq-1)%64)) != 0
}

// missing counts the seqs from 1 to head that have not arrived.
func (l *roomLog) missing(head int64) int {
	n := 0
	for s := int64(1); s <= head; s++ {
		if !l.has(s) {
			n++
		}
	}
	return n
}

// complete reports whether every seq from 1 to head has arrived.
func (l *roomLog) complete(head int64) bool {
	return l.last >= head && l.missing(head) == 0
}

// messageSeq reads the seq and client_id of a tether message frame without
// decoding all of it: the storm's load generator reads hundreds of
// thousands on one core, in the window it measures.
func messageSeq(frame []byte) (seq int64, clientID string, ok bool) {
	i := bytes.Index(frame, []byte(`"seq":`))
	if i < 0 {
		return 0, "", false
	}
	seq, _, ok = leadingInt(frame[i+len(`"seq":`):])
	if !ok {
		return 0, "", false
	}
	j := bytes.Index(frame, []byte(`"client_id":"`))
	if j < 0 {
		return 0, "", false
	}
	rest := frame[j+len(`"client_id":"`):]
	k := bytes.IndexByte(rest, '"')
	if k < 0 {
		return 0, "", false
	}
	return seq, string(rest[:k]), true
}

// stormClientID is the client_id of the k-th (1-based) message the storm
// writes into a room while the server is down.
func stormClientID(k int) string { return "storm-" + strconv.Itoa(k) }

// stormRetryDelay is the wait before reconnect attempt n (1-based) after a
// drop, by the policy of tether's client (conn.Machine's scheduleRetry):
// the first at a random moment in [0, conn.FirstRetryWindow), then
// base·2^(n-1) capped at the max, half of it fixed and half random (equal
// jitter). The spread is what lets a server survive every client at once,
// so the storm must keep it.
func stormRetryDelay(n int) time.Duration {
	if n <= 1 {
		return rand.N(conn.FirstRetryWindow)
	}
	step := conn.DefaultBaseReconnectDelay
	for i := 1; i < n && step < conn.DefaultMaxReconnectDelay; i++ {
		step *= 2
	}
	step = min(step, conn.DefaultMaxReconnectDelay)
	half := step / 2
	return step - half + rand.N(half+1)
}
