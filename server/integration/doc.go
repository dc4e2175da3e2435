//go:build !wasm

// Package integration holds the integration tests of the chat server: each
// test starts a real server in its own process (server/node) on a free port
// and drives it over WebSocket and HTTP with conn/native, as a client would.
// The package has no code of its own.
package integration
