//go:build !linux && !wasm

package postgres

import "syscall"

// setUserTimeout does nothing where TCP_USER_TIMEOUT is not set the Linux
// way: the keepalives still notice a dead peer.
func setUserTimeout(network, address string, c syscall.RawConn) error { return nil }
