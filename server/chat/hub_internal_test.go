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

// A server out of descriptors cannot even refuse a socket: the sockets it
// holds stop short of the open-file limit.
func TestMaxSocketsStopsShortOfTheOpenFileLimit(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 19_800, socketCap(20_000), "this machine's limit")
	assert.Equal(t, 50_000, socketCap(1<<20), "a generous limit keeps the default")
	assert.Equal(t, 50_000, socketCap(0), "an unknown limit keeps the default")
	assert.Equal(t, 824, socketCap(1024))
	assert.Equal(t, 128, socketCap(256), "a tiny limit gives sockets half of it")

	var l Limits
	l.setDefaults(15 * time.Second)
	if files := openFileLimit(); files > 0 {
		assert.Equal(t, socketCap(files), l.MaxSockets)
		assert.Less(t, l.MaxSockets, files, "below this process's limit of %d", files)
	}
	l = Limits{MaxSockets: 7}
	l.setDefaults(15 * time.Second)
	assert.Equal(t, 7, l.MaxSockets, "a limit set stays")
}
