// Command precompress writes the brotli and gzip copies of a file beside it
// (FILE.br, FILE.gz), at the highest quality, so the server can answer
// Accept-Encoding without compressing at request time. It is pure Go: a
// fresh machine needs no brotli tool.
//
//	go run ./tools/precompress web/app.wasm
package main

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "precompress:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	br, err := writeCompressed(path+".br", raw, func(w io.Writer) (io.WriteCloser, error) {
		// A 16 MiB window lets brotli match across the whole wasm binary.
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24}), nil
	})
	if err != nil {
		return err
	}
	gz, err := writeCompressed(path+".gz", raw, func(w io.Writer) (io.WriteCloser, error) {
		return gzip.NewWriterLevel(w, gzip.BestCompression)
	})
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes, brotli %d (%.1f%%), gzip %d (%.1f%%)\n", filepath.Base(path),
		len(raw), br, 100*float64(br)/float64(len(raw)), gz, 100*float64(gz)/float64(len(raw)))
	return nil
}

// writeCompressed writes raw through the compressor to a temporary file and
// renames it into place, so a failed or interrupted run never leaves a
// truncated copy for the server to embed. It returns the compressed size.
func writeCompressed(dst string, raw []byte, newWriter func(io.Writer) (io.WriteCloser, error)) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	zw, err := newWriter(tmp)
	if err != nil {
		return 0, errors.Join(err, tmp.Close())
	}
	if _, err := zw.Write(raw); err != nil {
		return 0, errors.Join(fmt.Errorf("failed to compress %s: %w", dst, err), zw.Close(), tmp.Close())
	}
	if err := zw.Close(); err != nil {
		return 0, errors.Join(fmt.Errorf("failed to compress %s: %w", dst, err), tmp.Close())
	}
	info, err := tmp.Stat()
	if err != nil {
		return 0, errors.Join(err, tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return 0, err
	}
	return info.Size(), os.Rename(tmp.Name(), dst)
}
