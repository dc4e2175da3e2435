package conntest

import "tether/conn/wire"

// Seqs lists the seqs of msgs in their order: empty, not nil, for none, to
// compare with what a test expects.
func Seqs(msgs []wire.Message) []int64 {
	out := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Seq)
	}
	return out
}

// SeqRange is from, from+1, ..., to: empty, not nil, when to < from.
func SeqRange(from, to int64) []int64 {
	out := []int64{}
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}
