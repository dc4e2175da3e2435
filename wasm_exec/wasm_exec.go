// Package wasm_exec holds the wasm_exec.js of the Go toolchain that builds
// app.wasm. The JavaScript glue and the wasm it loads must come from the
// same Go release: `make build` copies the file from
// $(go env GOROOT)/lib/wasm, and the test here fails when they differ.
package wasm_exec

import _ "embed"

// JS is the content of wasm_exec.js, served at /wasm_exec.js.
//
//go:embed wasm_exec.js
var JS []byte
