package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compressible is random-ish like a binary: words from a small vocabulary
// in a random order, with a fixed seed so a failure can be reproduced.
func compressible(n int) []byte {
	words := []string{"local.get", "i32.add", "call", "br_if", "\x00\x01", "memory", "\xff\xfe\xfd", "end"}
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(byte(r.IntN(256)))
	}
	return b.Bytes()[:n]
}

// incompressible is pure noise: the copies are larger than the original,
// and must still decode to it.
func incompressible(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func decodeBrotli(t *testing.T, data []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(data)))
	require.NoError(t, err)
	return out
}

func decodeGzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.NoError(t, zr.Close())
	return out
}

func TestRunWritesCopiesThatDecodeToTheOriginal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		raw   []byte
		stale bool // copies from an older file already exist
		// smaller says the copies must be smaller than the original.
		smaller bool
	}{
		{name: "compressible data gives smaller copies", raw: compressible(64 << 10), smaller: true},
		{name: "stale copies of an older file are replaced", raw: compressible(16 << 10), stale: true, smaller: true},
		{name: "incompressible data still round-trips", raw: incompressible(16 << 10)},
		{name: "an empty file gives empty-decoding copies", raw: []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "app.wasm")
			require.NoError(t, os.WriteFile(path, tt.raw, 0o644))
			if tt.stale {
				require.NoError(t, os.WriteFile(path+".br", []byte("stale brotli"), 0o644))
				require.NoError(t, os.WriteFile(path+".gz", []byte("stale gzip"), 0o644))
			}

			require.NoError(t, run(path))

			for _, c := range []struct {
				ext    string
				decode func(*testing.T, []byte) []byte
			}{{".br", decodeBrotli}, {".gz", decodeGzip}} {
				data, err := os.ReadFile(path + c.ext)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(tt.raw, c.decode(t, data)), "%s does not decode to the original", c.ext)
				if tt.smaller {
					assert.Less(t, len(data), len(tt.raw), "%s is not smaller", c.ext)
				}
				info, err := os.Stat(path + c.ext)
				require.NoError(t, err)
				// The server's build reads the copies; CreateTemp's 0600
				// must not survive the rename.
				assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), "%s mode", c.ext)
			}
			original, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(tt.raw, original), "the original was changed")
			assertNoTempFiles(t, dir)
		})
	}
}

func TestRunFailsWithoutItsInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path func(dir string) string
	}{
		{name: "a missing file is an error", path: func(dir string) string { return filepath.Join(dir, "app.wasm") }},
		{name: "a missing folder is an error", path: func(dir string) string { return filepath.Join(dir, "no", "app.wasm") }},
		{name: "a folder instead of a file is an error", path: func(dir string) string { return dir }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.Error(t, run(tt.path(dir)))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "a failed run left files behind")
		})
	}
}

// A copy is written under a temporary name and renamed: a failed write
// must leave neither a truncated copy nor the temporary file.
func TestWriteCompressedCleansUpAfterAFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		newWriter func(io.Writer) (io.WriteCloser, error)
	}{
		{name: "the compressor cannot be created", newWriter: func(io.Writer) (io.WriteCloser, error) {
			return nil, io.ErrShortWrite
		}},
		{name: "the compressor fails to write", newWriter: func(io.Writer) (io.WriteCloser, error) {
			return failingWriter{}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dst := filepath.Join(dir, "app.wasm.br")
			_, err := writeCompressed(dst, []byte("data"), tt.newWriter)
			require.Error(t, err)
			assert.NoFileExists(t, dst)
			assertNoTempFiles(t, dir)
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }
func (failingWriter) Close() error              { return nil }

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".tmp", "leftover temporary file %s", e.Name())
	}
}
