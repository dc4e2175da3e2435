//go:build !wasm

package bundle

// MaxGzipMemo is maxGzipMemo, for the external tests.
const MaxGzipMemo = maxGzipMemo

// GzipMemo is a gzipMemo of the external tests' own.
type GzipMemo struct{ m *gzipMemo }

// NewGzipMemo returns an empty memo.
func NewGzipMemo() GzipMemo { return GzipMemo{newGzipMemo()} }

// Of is gzipMemo.of.
func (g GzipMemo) Of(path, etag string, body []byte, keep bool) []byte {
	return g.m.of(path, etag, body, keep)
}

// Len is how many answers the memo keeps.
func (g GzipMemo) Len() int { return len(g.m.entries) }
