//go:build !unix && !wasm

package chat

import "net"

// waitReadable returns at once where the socket cannot be peeked at: the
// read waits instead.
func waitReadable(net.Conn) {}
