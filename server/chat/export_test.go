//go:build !wasm

package chat

// Sockets is the number of WebSocket connections open now, for the tests of
// the package's limits.
func (h *Hub) Sockets() int { return h.sockets() }
