//go:build !wasm

package postgres

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
