//go:build !wasm

package postgres

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// How long a connection cut off in silence (a network cut, a frozen VM: no
// FIN, no RST) can hold anything. TCP alone gives up after about two hours
// on an idle connection and fifteen minutes on one with data in flight.
//
// What matters most is elsewhere: an append batch is a procedure that
// commits before it answers, and a relay one Query message that the server
// commits as soon as it ends (writer.go, fanout.go), so a cut-off node
// holds no row or lock while the server waits for it. These settings bound
// the rest: a transaction a node started and left (migrations, and any
// future one), a backend that waits to send a reply nobody reads, and
// connections that stay open on a dead peer, on both ends.
const (
	// An idle connection is probed after keepAliveIdle of silence, then
	// every keepAliveInterval; keepAliveCount probes without an answer
	// drop it. With userTimeout below, the first unanswered probe past it
	// does: a dead peer is noticed within about 15 s.
	keepAliveIdle     = 10 * time.Second
	keepAliveInterval = 5 * time.Second
	keepAliveCount    = 3
	// userTimeout (TCP_USER_TIMEOUT) drops a connection whose data stays
	// unacknowledged this long: a backend blocked sending a reply to a
	// node that is gone lets its transaction go within it.
	userTimeout = 10 * time.Second
	// idleInTransactionTimeout ends a session that sits in an open
	// transaction waiting for its node, and with it the transaction's
	// locks. tether's transactions never wait for anything but a round
	// trip between their statements. It does not cover a pipeline waiting
	// for its Sync (the server is not idle then): hence the single Query
	// messages.
	idleInTransactionTimeout = 10 * time.Second
)

// sessionSettings are the server-side settings every connection sets after
// it connects: the server's keepalives and user timeout on its end of the
// socket (PostgreSQL ignores them on a unix socket), and the idle
// transaction timeout. They are SET rather than sent in the startup
// packet, which PgBouncer refuses for parameters it does not know.
// optional ones may fail: a server on a system without TCP_USER_TIMEOUT
// refuses any value but 0, and its keepalives still notice a dead peer.
var sessionSettings = []struct {
	name, value string
	optional    bool
}{
	{"tcp_keepalives_idle", fmt.Sprint(int(keepAliveIdle.Seconds())), false},
	{"tcp_keepalives_interval", fmt.Sprint(int(keepAliveInterval.Seconds())), false},
	{"tcp_keepalives_count", fmt.Sprint(keepAliveCount), false},
	{"idle_in_transaction_session_timeout", fmt.Sprint(idleInTransactionTimeout.Milliseconds()), false},
	{"tcp_user_timeout", fmt.Sprint(userTimeout.Milliseconds()), true},
}

// guardAgainstCuts sets up cfg so that its connections notice a dead peer
// on both ends: the dialer's keepalives and user timeout on this node's
// end, sessionSettings on the server's. A setting the store URL already
// names (…?idle_in_transaction_session_timeout=30000) is left as given.
func guardAgainstCuts(cfg *pgconn.Config) {
	d := &net.Dialer{
		Timeout: cfg.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable:   true,
			Idle:     keepAliveIdle,
			Interval: keepAliveInterval,
			Count:    keepAliveCount,
		},
		Control: setUserTimeout,
	}
	cfg.DialFunc = d.DialContext

	var sets, optional []string
	for _, s := range sessionSettings {
		if _, given := cfg.RuntimeParams[s.name]; given {
			continue
		}
		if s.optional {
			optional = append(optional, "SET "+s.name+" = "+s.value)
		} else {
			sets = append(sets, "SET "+s.name+" = "+s.value)
		}
	}
	next := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgconn.PgConn) error {
		if len(sets) > 0 {
			if _, err := conn.Exec(ctx, strings.Join(sets, "; ")).ReadAll(); err != nil {
				return fmt.Errorf("failed to set the session's timeouts: %w", err)
			}
		}
		for _, sql := range optional {
			if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil && ctx.Err() != nil {
				return fmt.Errorf("failed to set the session's timeouts: %w", err)
			}
		}
		if next != nil {
			return next(ctx, conn)
		}
		return nil
	}
}
