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

// Rows are the rows of a query, of database/sql or of pgx: what Strings
// reads.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Strings reads every row of rows, each of one text column, in order: the
// stores' tests of their migrations list what a database holds with it.
func Strings(t *testing.T, rows Rows) []string {
	t.Helper()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}
