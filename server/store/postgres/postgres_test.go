//go:build !wasm

package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/postgres"
	"tether/server/store/postgres/pgtest"
	"tether/server/store/storetest"
)

// The package's tests share one throwaway cluster, a database each.
func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, pgtest.NewDatabase(t), postgres.Options{})
	})
}

// open opens a store on url that is closed when the test ends.
func open(t *testing.T, url string, opts postgres.Options) *postgres.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// exec runs sql on url, outside any store.
func exec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	require.NoError(t, err)
}

func TestNodesStartedAtOnceMigrateOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), url, postgres.Options{Logger: slog.New(slog.DiscardHandler)})
			errs[i] = err
			if err == nil {
				s.Close()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "node %d", i)
	}
	// And the schema works: a store opened afterwards appends.
	s := open(t, url, postgres.Options{})
	m, created, err := s.Append(t.Context(), store.NewMessage{Room: "r", ID: "m1", ClientID: "c1", Body: "hi", SentAt: 1})
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, int64(1), m.Seq)
}

func TestADatabaseOfANewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	open(t, url, postgres.Options{}).Close()
	exec(t, url, "UPDATE tether_schema SET version = version + 1")
	_, err := postgres.Open(t.Context(), url, postgres.Options{Logger: slog.New(slog.DiscardHandler)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer than this build")
}

func TestABadURLIsRefusedWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), "postgres://u:secret-password@host:notaport/db", postgres.Options{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret-password")
}

// Two nodes appending to the same rooms at once, some with the same
// client_ids: seqs stay dense and every client_id is stored once, with no
// deadlock between batches that lock several rooms.
func TestTwoNodesAppendingAtOnceKeepSeqsDenseAndClientIDsUnique(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	nodes := []*postgres.Store{open(t, url, postgres.Options{}), open(t, url, postgres.Options{})}
	rooms := []string{"a", "b", "c"}
	const perRoom = 60
	type result struct {
		room     string
		clientID string
		seq      int64
	}
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Each node has 6 callers, and callers w and w+3 append the same client
	// ids to the same rooms, on both nodes: every client id is raced for
	// four times. The rooms of one caller change at every append, so
	// batches hold several rooms in no particular order.
	for n, s := range nodes {
		for w := range 6 {
			wg.Go(func() {
				for i := range perRoom {
					room := rooms[(w+i)%len(rooms)]
					clientID := fmt.Sprintf("w%d-%d", w%3, i)
					m, _, err := s.Append(ctx, store.NewMessage{
						Room: room, ID: fmt.Sprintf("n%d-w%d-%d", n, w, i), ClientID: clientID,
						Sender: wire.User{ID: "u"}, Body: "x", SentAt: 1,
					})
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					results = append(results, result{room, clientID, m.Seq})
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()

	seqOf := map[[2]string]int64{}
	for _, r := range results {
		key := [2]string{r.room, r.clientID}
		if seq, ok := seqOf[key]; ok {
			assert.Equal(t, seq, r.seq, "client_id %s in %s got two seqs", r.clientID, r.room)
		}
		seqOf[key] = r.seq
	}
	for _, room := range rooms {
		stored, err := nodes[0].After(ctx, room, 0, 10_000)
		require.NoError(t, err)
		want := int64(0)
		for key := range seqOf {
			if key[0] == room {
				want++
			}
		}
		require.Len(t, stored, int(want), "room %s", room)
		for i, m := range stored {
			assert.Equal(t, int64(i+1), m.Seq, "room %s", room)
			assert.Equal(t, seqOf[[2]string{room, m.ClientID}], m.Seq)
		}
	}
}
