//go:build unix && !wasm

package chat

import (
	"errors"
	"net"
	"syscall"
)

// waitReadable blocks until conn has input, or has ended, without reading
// it. It parks on the runtime's poller with a few frames of stack, where a
// read through the WebSocket library would park with many: an idle session
// then costs the smallest goroutine stack. It returns at once when conn is
// not a plain socket (TLS, or a pipe in tests): the read then waits.
func waitReadable(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	var b [1]byte
	polled := false
	raw.Read(func(fd uintptr) bool {
		if polled {
			// The poller says there is input, or the socket ended: the
			// reader finds out which (and waits, should it be neither).
			return true
		}
		polled = true
		// Before the first wait, a peek: input may have come since the
		// last read, and the poller tells only of what comes next. It
		// leaves the byte for the reader; EAGAIN means nothing yet. Anything
		// else (data, EOF, an error) is for the reader to find.
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR)
	})
}

// peekInput copies into b what waits on conn without taking it, and
// without waiting: n is 0 when nothing waits, when conn has ended, or when
// it is not a plain socket.
func peekInput(conn net.Conn, b []byte) int {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	raw.Read(func(fd uintptr) bool {
		m, _, err := syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == nil && m > 0 {
			n = m
		}
		return true
	})
	return n
}
