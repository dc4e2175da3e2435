//go:build !wasm

package chat

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMessageIDsAreUniqueHexInTheOrderMade(t *testing.T) {
	t.Parallel()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = newMessageID()
	}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, id := range ids {
		assert.Regexp(t, hex32, id)
	}
	assert.True(t, slices.IsSorted(ids), "later ids sort after earlier ones")
	assert.Len(t, slices.Compact(slices.Clone(ids)), len(ids), "no id twice")
}

// A user's refusals held at once lengthen each one's hold past the first
// ten, in proportion, up to maxRefusalHold: the refusals of a user who
// loops on hundreds of connections come back at about ten per hold.
func TestManyRefusalsOfOneUserAreHeldLonger(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int64
		want time.Duration
	}{
		{1, time.Second}, {10, time.Second}, {20, 2 * time.Second}, {55, 5500 * time.Millisecond},
		{300, maxRefusalHold}, {100_000, maxRefusalHold},
	} {
		assert.Equal(t, tt.want, refusalHold(time.Second, tt.n), "%d held", tt.n)
	}
}
