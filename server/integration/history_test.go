//go:build !wasm

package integration_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/native"
	"tether/conn/wire"
)

// The service's history pages against the real server: what a chat shows
// above the messages it was delivered.

func TestServiceHistoryAgainstTheServer(t *testing.T) {
	t.Parallel()
	const room = "svc-history"
	m := startNode(t)
	ctx := testContext(t)
	casey := httpClient(m, token(t, m, room, "casey", wire.RoleCustomer))
	for i := 1; i <= 7; i++ {
		_, _, err := casey.Post(ctx, room, fmt.Sprintf("h-%d", i), fmt.Sprintf("m%d", i))
		require.NoError(t, err)
	}

	newService := func(t *testing.T, tokens conn.TokenSource) *conn.Service {
		svc := conn.New(fastConfig, native.Ports(m.URL(), tokens))
		t.Cleanup(svc.Close)
		return svc
	}

	t.Run("pages go backwards from the newest, each in seq order", func(t *testing.T) {
		svc := newService(t, native.NewStaticTokens(token(t, m, room, "taylor", wire.RoleTherapist)))
		requirePagesOfSeven(t, func(before int64) []wire.Message {
			msgs, err := svc.History(ctx, room, before, 3)
			require.NoError(t, err)
			return msgs
		})
		msgs, err := svc.History(ctx, room, 0, 0)
		require.NoError(t, err)
		assert.Equal(t, []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7"}, bodies(msgs), "limit 0 takes the server's default page")
	})

	t.Run("a refused token is renewed and the page read with the new one", func(t *testing.T) {
		tokens := native.NewStaticTokens("not-a-token")
		tokens.RefreshFunc = func(ctx context.Context) (string, error) {
			return native.DevToken(ctx, m.URL(), room, "taylor", "Taylor", wire.RoleTherapist)
		}
		svc := newService(t, tokens)
		msgs, err := svc.History(ctx, room, 0, 2)
		require.NoError(t, err)
		assert.Equal(t, span(6, 7), seqs(msgs))
	})

	t.Run("a room of someone else is forbidden", func(t *testing.T) {
		svc := newService(t, native.NewStaticTokens(token(t, m, room, "taylor", wire.RoleTherapist)))
		_, err := svc.History(ctx, "someone-else", 0, 10)
		assert.ErrorIs(t, err, conn.ErrForbidden)
		var he *conn.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 403, he.Status)
	})
}
