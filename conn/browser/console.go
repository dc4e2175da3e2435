//go:build js && wasm

package browser

import "strings"

// Console is an io.Writer for a log handler: each write, one record, goes
// to console.log as one line. Writing to os.Stdout instead passes through
// wasm_exec.js's file system shim, which answers every write through a
// callback the writer waits for: the page's start, which logs a few lines,
// spent tens of milliseconds there.
type Console struct{}

// Write logs p, less its final newline, with console.log.
func (Console) Write(p []byte) (int, error) {
	console, err := global("console")
	if err != nil {
		return 0, err
	}
	if _, err := console.Call("log", strings.TrimSuffix(string(p), "\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}
