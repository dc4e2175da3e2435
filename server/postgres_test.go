//go:build !wasm

package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tether/conn/native"
	"tether/conn/wire"
	"tether/internal/servertest"
	"tether/server/store/postgres/pgtest"
)

// The tests of several nodes share one throwaway PostgreSQL cluster, started
// by the first of them and stopped when the package's tests end.
func TestMain(m *testing.M) { pgtest.Main(m, servertest.RemoveBinary) }

// startSharedNode runs a dev node in this process on the PostgreSQL
// database at db; every such node signs with testSecret, so each accepts
// the others' tokens. It is closed when the test ends.
func startSharedNode(tb testing.TB, db string, tune ...func(*Main)) *Main {
	tb.Helper()
	m := newMain(tb, Config{Dev: true, Store: db, MetricsAddr: "127.0.0.1:0"})
	for _, f := range tune {
		f(m)
	}
	return runMain(tb, m)
}

// gauge reads one sample of a node's metrics (on its -metrics-addr), -1 when absent.
func gauge(t *testing.T, m *Main, name string) string {
	t.Helper()
	res, err := http.Get(m.MetricsURL())
	require.NoError(t, err)
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return "-1"
}

// An HTTP long-poll waits on the node it reached; the message may be posted
// through any other.
func TestALongPollOnOneNodeWakesForAMessagePostedOnAnother(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	a, b := startSharedNode(t, db), startSharedNode(t, db)
	const room = "booking-longpoll"
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tokA, err := native.DevToken(ctx, a.URL(), room, "casey", "Casey", wire.RoleCustomer)
	require.NoError(t, err)
	tokB, err := native.DevToken(ctx, b.URL(), room, "taylor", "Taylor", wire.RoleTherapist)
	require.NoError(t, err)

	type result struct {
		page *wire.MessagesPage
		err  error
	}
	polled := make(chan result, 1)
	start := time.Now()
	go func() {
		page, err := (&native.HTTPClient{BaseURL: b.URL(), Token: tokB}).Messages(ctx, room, 0, 15*time.Second)
		polled <- result{page, err}
	}()
	require.Eventually(t, func() bool { return gauge(t, b, "tether_longpolls_waiting") == "1" },
		10*time.Second, 10*time.Millisecond, "the long-poll waits on node B")

	posted, created, err := (&native.HTTPClient{BaseURL: a.URL(), Token: tokA}).Post(ctx, room, "c1", "posted on node A")
	require.NoError(t, err)
	require.True(t, created)
	r := <-polled
	require.NoError(t, r.err)
	require.Len(t, r.page.Messages, 1)
	require.Equal(t, posted.Seq, r.page.Messages[0].Seq)
	require.Equal(t, "posted on node A", r.page.Messages[0].Body)
	require.Less(t, time.Since(start), 10*time.Second, "woken by the message, not by the wait's end")
	// Node B counts only what it stored.
	require.Equal(t, "0", gauge(t, b, "tether_messages_stored_total"))
	require.Equal(t, "1", gauge(t, a, "tether_messages_stored_total"))
}

// A -store the server cannot use stops it at the start, and the error never
// repeats a password.
func TestAStoreThatIsNotAPostgresURLIsRefused(t *testing.T) {
	t.Parallel()
	requireWasm(t)
	tests := []struct {
		name  string
		store string
		want  string
	}{
		{name: "another database's URL names only its scheme", store: "mysql://tether:hunter2-secret@db/tether", want: "not mysql://…"},
		{name: "a keyword/value connection string is not repeated", store: "host=db password=hunter2-secret", want: "wants a postgres:// URL"},
		{name: "a postgres URL that does not parse is not repeated", store: "postgres://tether:hunter2-secret@db:port/tether", want: "not a valid connection string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMain(t, Config{Store: tt.store})
			err := m.Run(t.Context())
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
}
