//go:build !wasm

package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ReleasedSteps fails t when a schema step differs from the one released.
// sums are the SHA-256 of each step, in hex. A released step is never
// edited, since databases in the field already ran it; a store whose steps
// share text through constants relies on this to notice an edit of one. A
// new step adds its sum.
func ReleasedSteps(t *testing.T, steps []string, sums []string) {
	t.Helper()
	require.Len(t, steps, len(sums), "a new step adds its sum")
	for i, step := range steps {
		sum := sha256.Sum256([]byte(step))
		assert.Equal(t, sums[i], hex.EncodeToString(sum[:]), "migration %d was edited", i+1)
	}
}
