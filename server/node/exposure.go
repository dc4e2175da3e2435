//go:build !wasm

package node

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// CheckExposure refuses -dev and -faults on an address other machines can
// reach: a dev node mints tokens for any user and room, and the test backend
// lets anyone cut every connection. Both listen on loopback (127.0.0.0/8,
// ::1, localhost) unless InsecurePublicDev says the operator means it. An
// empty host (":8080"), 0.0.0.0 and :: listen on every interface; a host name
// other than localhost may resolve to anything: all are refused.
func (c Config) CheckExposure() error {
	if (!c.Dev && !c.Faults) || c.InsecurePublicDev || IsLoopback(c.Addr) {
		return nil
	}
	var modes []string
	if c.Dev {
		modes = append(modes, "-dev (tokens for any user and room)")
	}
	if c.Faults {
		modes = append(modes, "-faults (anyone can cut every connection)")
	}
	return fmt.Errorf("%s must listen on a loopback address, not %q: use e.g. -addr localhost:8080 or 127.0.0.1:8080, "+
		"or add -insecure-public-dev to expose it on purpose (a test machine, never production)", strings.Join(modes, " and "), c.Addr)
}

// checkExposure is CheckExposure, with a warning in the log when the
// operator exposes -dev or -faults on purpose.
func (m *Main) checkExposure() error {
	if err := m.CheckExposure(); err != nil {
		return err
	}
	if (m.Dev || m.Faults) && !IsLoopback(m.Addr) {
		m.Logger.Warn("-dev or -faults listens beyond loopback (-insecure-public-dev): whoever reaches it can mint tokens or cut connections; never in production", "addr", m.Addr)
	}
	return nil
}

// IsLoopback reports whether addr (host:port) names a loopback address:
// localhost, 127.0.0.0/8 or ::1.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
