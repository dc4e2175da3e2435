//go:build !unix && !wasm

package chat

// openFileLimit is 0 where the limit cannot be read: MaxSockets keeps its
// default.
func openFileLimit() int { return 0 }
