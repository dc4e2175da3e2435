//go:build !wasm

package bundle

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decoded(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

// The memo of gzip answers serves the bytes it was made from and no
// others, keeps no page, and stays bounded whatever paths are asked for.
func TestGzipMemo(t *testing.T) {
	t.Parallel()
	t.Run("the same bytes come from the memo", func(t *testing.T) {
		m := &gzipMemo{entries: map[string]gzipEntry{}}
		body := bytes.Repeat([]byte("console.log('tether');\n"), 100)
		first := m.of("/app.js", `"v1"`, body, true)
		again := m.of("/app.js", `"v1"`, body, true)
		assert.Equal(t, body, decoded(t, again))
		assert.Same(t, &first[0], &again[0], "compressed once")
	})
	t.Run("other bytes under the same path and ETag are compressed anew", func(t *testing.T) {
		m := &gzipMemo{entries: map[string]gzipEntry{}}
		m.of("/app.js", `"v1"`, []byte("first version of the script, long enough"), true)
		other := []byte("a second version of the script, as long")
		assert.Equal(t, other, decoded(t, m.of("/app.js", `"v1"`, other, true)))
	})
	t.Run("pages and answers without an ETag are not kept", func(t *testing.T) {
		m := &gzipMemo{entries: map[string]gzipEntry{}}
		page := []byte("<html>a room's page</html>")
		assert.Equal(t, page, decoded(t, m.of("/chat/r1", `"v1"`, page, false)))
		assert.Equal(t, page, decoded(t, m.of("/app.js", "", page, true)))
		assert.Empty(t, m.entries)
	})
	t.Run("the memo holds at most maxGzipMemo answers", func(t *testing.T) {
		m := &gzipMemo{entries: map[string]gzipEntry{}}
		for i := range maxGzipMemo + 50 {
			body := fmt.Appendf(nil, "asset number %d", i)
			assert.Equal(t, body, decoded(t, m.of(fmt.Sprintf("/web/a%d", i), `"v1"`, body, true)))
		}
		assert.Len(t, m.entries, maxGzipMemo)
	})
}
