//go:build linux

package postgres

import (
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// setUserTimeout is the dialer's Control: it sets TCP_USER_TIMEOUT on a TCP
// socket before it connects (net.Dialer has no field for it).
func setUserTimeout(network, _ string, c syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return nil
	}
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(userTimeout.Milliseconds()))
	}); cerr != nil {
		return fmt.Errorf("failed to set TCP_USER_TIMEOUT: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("failed to set TCP_USER_TIMEOUT: %w", err)
	}
	return nil
}
