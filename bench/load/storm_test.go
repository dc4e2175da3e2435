//go:build !wasm

package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/wire"
)

func TestRoomLogChecksEverySeqOnceInOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                     string
		seqs                     []int64
		head                     int64
		complete                 bool
		missing, doubled, behind int
	}{
		{name: "every seq once in order is complete", seqs: []int64{1, 2, 3, 4}, head: 4, complete: true},
		{name: "a seq that came twice is doubled, not missing", seqs: []int64{1, 2, 2, 3}, head: 3, complete: true, doubled: 1},
		{name: "a replay from before the last seq doubles what it repeats", seqs: []int64{1, 2, 1, 2, 3}, head: 3, complete: true, doubled: 2},
		{name: "a gap is missing until it arrives", seqs: []int64{1, 3}, head: 3, missing: 1},
		{name: "a seq that fills a gap late is out of order", seqs: []int64{1, 3, 2}, head: 3, complete: true, behind: 1},
		{name: "nothing past the history is missing the rest", seqs: []int64{1}, head: 21, missing: 20},
		{name: "seqs past 64 use a second word", seqs: seqRange(1, 130), head: 130, complete: true},
		{name: "the head not reached is not complete", seqs: []int64{1, 2}, head: 3, missing: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var l roomLog
			for _, s := range tc.seqs {
				l.add(s)
			}
			assert.Equal(t, tc.complete, l.complete(tc.head))
			assert.Equal(t, tc.missing, l.missing(tc.head))
			assert.Equal(t, tc.doubled, l.doubled)
			assert.Equal(t, tc.behind, l.outOfOrder)
			assert.Zero(t, l.invalid)
		})
	}
}

func TestRoomLogCountsASeqBelowOneInvalid(t *testing.T) {
	t.Parallel()
	var l roomLog
	l.add(0)
	l.add(-3)
	assert.Equal(t, 2, l.invalid)
	assert.False(t, l.has(0))
	assert.Equal(t, 1, l.missing(1))
}

func seqRange(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestMessageSeqReadsTheSeqAndClientIDOfAnEncodedFrame(t *testing.T) {
	t.Parallel()
	frame, err := wire.Encode(&wire.Message{Room: "s12", Seq: 17, ID: "abc", ClientID: stormClientID(16),
		Sender: wire.User{ID: "elsewhere", Name: "Elsewhere", Role: wire.RoleTherapist}, Body: `a "seq":99 in the body`, SentAt: 1})
	require.NoError(t, err)
	seq, clientID, ok := messageSeq(frame)
	require.True(t, ok)
	assert.Equal(t, int64(17), seq)
	assert.Equal(t, "storm-16", clientID)

	_, _, ok = messageSeq([]byte(`{"type":"message","room":"r"}`))
	assert.False(t, ok, "a frame without a seq")
}

func TestStormRetryDelayFollowsTheClientsBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 0, conn.FirstRetryWindow},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{5, 8 * time.Second, 16 * time.Second},
		{6, 15 * time.Second, 30 * time.Second},
		{40, 15 * time.Second, 30 * time.Second},
	} {
		for range 200 {
			d := stormRetryDelay(tc.attempt)
			assert.GreaterOrEqual(t, d, tc.min, "attempt %d", tc.attempt)
			assert.LessOrEqual(t, d, tc.max, "attempt %d", tc.attempt)
		}
	}
}

func TestStormSummaryLeavesAFigureOutUnlessNothingWasLostOrDoubled(t *testing.T) {
	t.Parallel()
	s := &storm{closes: map[string]int64{}}
	heads := []int64{3}
	complete, doubled := &stormClient{room: 0, resumedAt: 2e9, caughtUpAt: 3e9}, &stormClient{room: 0, resumedAt: 2e9, caughtUpAt: 4e9}
	for _, seq := range []int64{1, 2, 3} {
		complete.log.add(seq)
		doubled.log.add(seq)
	}
	doubled.log.add(2)
	s.clients = []*stormClient{complete, doubled}

	r := stormResult{Clients: 2}
	r.summarize(s, heads, 1e9, 500*time.Millisecond)
	require.NotNil(t, r.CaughtUpSeconds)
	assert.Equal(t, 3.0, *r.CaughtUpSeconds, "from accepting to the last client caught up")
	assert.Equal(t, 3.5, *r.FromRestartCommandS)
	assert.Equal(t, int64(1), r.Doubled)
	assert.False(t, r.Valid)

	res := newResults(false, machine{})
	res.Detail.Tether.Storm = &r
	res.summarize()
	assert.Nil(t, res.ReconnectStormS, "a doubled message voids the figure")
	assert.Equal(t, 20.0, *res.ReconnectStormGoalS)
	assert.Contains(t, res.markdown(), "| **the figure does not stand** | 1 doubled |")

	doubled.log = roomLog{}
	for _, seq := range []int64{1, 2, 3} {
		doubled.log.add(seq)
	}
	r = stormResult{Clients: 2}
	r.summarize(s, heads, 1e9, 0)
	assert.True(t, r.Valid)
	res = newResults(false, machine{})
	res.Detail.Tether.Storm = &r
	res.summarize()
	require.NotNil(t, res.ReconnectStormS)
	assert.Equal(t, 3.0, *res.ReconnectStormS)
	assert.Contains(t, res.markdown(), "| 3.0 | — | ≤ 20 | yes |")
}
