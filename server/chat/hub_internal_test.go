//go:build !wasm

package chat

import (
	"regexp"
	"slices"
	"testing"

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
