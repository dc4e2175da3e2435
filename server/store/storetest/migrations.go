//go:build !wasm

package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ReleasedSteps fails t when a schema step differs from the one released.
// The file at sums (in the package's testdata) holds the SHA-256 of each
// step in order, one a line in hex, as sha256sum writes them: "<sum>
// migration <n>". A released step is never edited, since databases in the
// field already ran it; a store whose steps share text through constants
// relies on this to notice an edit of one. A new step adds its line.
func ReleasedSteps(t *testing.T, steps []string, sums string) {
	t.Helper()
	data, err := os.ReadFile(sums)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, steps, len(lines), "a new step adds its line to %s", sums)
	for i, step := range steps {
		sum := sha256.Sum256([]byte(step))
		want, _, _ := strings.Cut(lines[i], " ")
		assert.Equal(t, want, hex.EncodeToString(sum[:]), "migration %d was edited", i+1)
	}
}
