//go:build js && wasm

package browser

// LiveFuncs is the number of JavaScript callbacks and listeners held now.
func LiveFuncs() int64 { return live.Load() }
