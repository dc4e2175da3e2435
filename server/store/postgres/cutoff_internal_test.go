//go:build !wasm

package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/store"
	"tether/server/store/postgres/pgtest"
)

func TestTheSessionsEndTransactionsLeftIdle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string // appended to the URL
		want  string
	}{
		{"by default after 10 s", "", "10s"},
		{"or as the store URL says", "&idle_in_transaction_session_timeout=30000", "30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := openInternal(t, pgtest.NewDatabase(t)+tt.query)
			ctx := context.Background()
			var got string
			require.NoError(t, s.pool.QueryRow(ctx, "SHOW idle_in_transaction_session_timeout").Scan(&got))
			assert.Equal(t, tt.want, got)
			// The lock wait of a batch is the function's own.
			require.NoError(t, s.pool.QueryRow(ctx, "SHOW lock_timeout").Scan(&got))
			assert.Equal(t, "0", got, "other statements keep the server's lock_timeout")
		})
	}
}

// A node that goes quiet in the middle of a transaction looks the same to
// the server whether it froze or its network was cut: the server ends the
// session, and frees what the transaction locked, after
// idleInTransactionTimeout.
func TestTheServerFreesTheLocksOfANodeQuietInATransaction(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	s := openInternal(t, url)
	ctx := context.Background()
	_, _, err := s.Append(ctx, store.NewMessage{Room: "r", ID: "m1", ClientID: "c1", Body: "hi", SentAt: 1})
	require.NoError(t, err)

	quiet, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer quiet.Release()
	tx, err := quiet.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT 1 FROM rooms WHERE room = 'r' FOR UPDATE")
	require.NoError(t, err)
	start := time.Now()

	other := pgtest.Connect(t, url)
	waitCtx, cancel := context.WithTimeout(ctx, idleInTransactionTimeout+5*time.Second)
	defer cancel()
	_, err = other.Exec(waitCtx, "SELECT 1 FROM rooms WHERE room = 'r' FOR UPDATE")
	require.NoError(t, err, "the row stayed locked")
	waited := time.Since(start)
	t.Logf("the row was freed after %v", waited.Round(time.Millisecond))
	assert.GreaterOrEqual(t, waited, idleInTransactionTimeout-time.Second, "freed by the timeout, not by something else")
	_, err = tx.Exec(ctx, "SELECT 1")
	assert.Error(t, err, "the quiet session was ended")
}
