//go:build linux

package postgres

import (
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestTheDialerNoticesADeadDatabase(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	cfg := &pgconn.Config{}
	guardAgainstCuts(cfg)
	conn, err := cfg.DialFunc(t.Context(), "tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	raw, err := conn.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)

	tests := []struct {
		name   string
		level  int
		option int
		want   int
	}{
		{"keepalives are on", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		{"the first probe follows 10 s of silence", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 10},
		{"probes follow each other every 5 s", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 5},
		{"3 probes without an answer drop it", unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 3},
		{"data unacknowledged for 10 s drops it", unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got int
			var gerr error
			require.NoError(t, raw.Control(func(fd uintptr) {
				got, gerr = unix.GetsockoptInt(int(fd), tt.level, tt.option)
			}))
			require.NoError(t, gerr)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTheDialerLeavesUnixSocketsAlone(t *testing.T) {
	t.Parallel()
	assert.NoError(t, setUserTimeout("unix", "", syscall.RawConn(nil)))
}
