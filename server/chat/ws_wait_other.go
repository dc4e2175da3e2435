//go:build !unix && !wasm

package chat

import "net"

// waitReadable returns at once where the socket cannot be peeked at: the
// read waits instead.
func waitReadable(net.Conn) {}

// peekInput finds nothing where the socket cannot be peeked at: the
// library reads what comes.
func peekInput(net.Conn, []byte) int { return 0 }
