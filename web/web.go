// Package web embeds tether's static assets into the server binary, so the
// server runs from any working directory. The built app.wasm and its
// precompressed copies (app.wasm.br, app.wasm.gz) are embedded too once
// `make build` has written them; they are never committed.
package web

import "embed"

// Files holds every file of this folder. The pattern is "*" rather than a
// list so the package still compiles before app.wasm has been built.
//
//go:embed *
var Files embed.FS

// Names of the files the server treats specially.
const (
	Wasm       = "app.wasm"
	WasmBrotli = "app.wasm.br"
	WasmGzip   = "app.wasm.gz"
)
