//go:build !wasm

package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"tether/server/store"
	"tether/server/store/sqlstore"
)

// fakeRows yields ints, then err from Err.
type fakeRows struct {
	vals []int
	at   int
	err  error
}

func (r *fakeRows) Next() bool { r.at++; return r.at <= len(r.vals) }
func (r *fakeRows) Err() error { return r.err }
func (r *fakeRows) Scan(dst ...any) error {
	*dst[0].(*int) = r.vals[r.at-1]
	return nil
}

func scanInt(r sqlstore.Row) (n int, err error) { return n, r.Scan(&n) }

func TestCollect(t *testing.T) {
	t.Parallel()
	broken := errors.New("broken")
	tests := []struct {
		name string
		rows *fakeRows
		want []int
		err  error
	}{
		{"no row is an empty slice, not nil", &fakeRows{}, []int{}, nil},
		{"rows come in their order", &fakeRows{vals: []int{3, 1, 2}}, []int{3, 1, 2}, nil},
		{"an error of the result set is returned", &fakeRows{vals: []int{1}, err: broken}, nil, broken},
	}
	for _, tt := range tests {
		got, err := sqlstore.Collect(tt.rows, 8, scanInt)
		require.ErrorIs(t, err, tt.err, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestGateRefusesCallsOnceShutAndWaitsForThoseInFlight(t *testing.T) {
	t.Parallel()
	var g sqlstore.Gate
	require.NoError(t, g.Enter())
	shut := make(chan struct{})
	go func() {
		g.Shut()
		close(shut)
	}()
	select {
	case <-shut:
		t.Fatal("Shut returned with a call in flight")
	case <-time.After(50 * time.Millisecond):
	}
	g.Exit()
	<-shut
	assert.ErrorIs(t, g.Enter(), store.ErrClosed)
}

func TestRunSteps(t *testing.T) {
	t.Parallel()
	steps := []string{"one", "two", "three"}
	tests := []struct {
		name string
		from int
		ran  []string
		err  string
	}{
		{"a new database runs every step", 0, []string{"one", "two", "three"}, ""},
		{"an older one runs the missing steps", 1, []string{"two", "three"}, ""},
		{"an up-to-date one runs none", 3, nil, ""},
		{"a newer one is refused", 4, nil, "database schema version 4 is newer than this build (version 3)"},
	}
	for _, tt := range tests {
		var ran []string
		did, err := sqlstore.RunSteps(tt.from, steps, func(step string) error {
			ran = append(ran, step)
			return nil
		})
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, tt.name)
		} else {
			assert.NoError(t, err, tt.name)
		}
		assert.Equal(t, tt.ran, ran, tt.name)
		assert.Equal(t, tt.ran != nil, did, tt.name)
	}
	_, err := sqlstore.RunSteps(1, steps, func(step string) error { return errors.New("no") })
	assert.EqualError(t, err, "failed to run migration 2: no", "a failed step says which")
}

func TestFailedKeepsNotFoundAsItIs(t *testing.T) {
	t.Parallel()
	assert.NoError(t, sqlstore.Failed(nil, "read"))
	assert.Equal(t, store.ErrNotFound, sqlstore.Failed(store.ErrNotFound, "read"))
	assert.EqualError(t, sqlstore.Failed(errors.New("gone"), "read the booking of r1"), "failed to read the booking of r1: gone")
}

// openMemory opens an SQLite database in memory with a table t of n rows
// (k, v).
func openMemory(tb testing.TB, n int) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+tb.Name()+"?mode=memory&cache=shared")
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	_, err = db.Exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
	require.NoError(tb, err)
	for i := range n {
		_, err = db.Exec("INSERT INTO t VALUES (?, ?)", fmt.Sprint("k", i), i)
		require.NoError(tb, err)
	}
	return db
}

// A DB keeps at most maxPrepared statements; past them its queries still
// run, unprepared, and a query that does not compile says why.
func TestDBPreparesAFixedSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := sqlstore.NewDB(openMemory(t, 1))
	for i := range 100 { // more distinct queries than it keeps
		var v int
		require.NoError(t, d.QueryRow(ctx, fmt.Sprintf("SELECT v + %d FROM t WHERE k = ?", i), "k0").Scan(&v))
		assert.Equal(t, i, v)
	}
	n, err := d.Exec(ctx, "UPDATE t SET v = v + 1 WHERE k = ?", "k0")
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	rows, err := d.Query(ctx, "SELECT v FROM t")
	require.NoError(t, err)
	got, err := sqlstore.Collect(rows, 0, scanInt)
	require.NoError(t, err)
	assert.Equal(t, []int{1}, got)
	_, err = d.Exec(ctx, "UPDATE nowhere SET v = 1")
	assert.ErrorContains(t, err, "no such table")
}

// BenchmarkDBQueryRow reads one row by key, as the hub reads a room's
// booking: the statement prepared once and kept (NewDB), against compiled
// on every call.
func BenchmarkDBQueryRow(b *testing.B) {
	for _, c := range []struct {
		name string
		db   func(*sql.DB) sqlstore.DB
	}{
		{"prepared", sqlstore.NewDB},
		{"unprepared", func(db *sql.DB) sqlstore.DB { return sqlstore.DB{DB: db} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := c.db(openMemory(b, 1000))
			ctx := context.Background()
			i := 0
			for b.Loop() {
				var v int
				if err := d.QueryRow(ctx, "SELECT v FROM t WHERE k = ?", fmt.Sprint("k", i%1000)).Scan(&v); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
