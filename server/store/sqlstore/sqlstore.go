//go:build !wasm

// Package sqlstore is the Go code that the two SQL stores,
// server/store/sqlite and server/store/postgres, share around their SQL:
// the gate that Close shuts, reading rows into messages' pages, bookings
// and sessions, the bookings calls that run alike in both (bookings.go),
// and the steps of a migration. The SQL itself stays in each store, since
// the dialects differ ($1 or ?, upserts, RETURNING); only what is the same
// text in both, such as the columns of a booking (columns.go), is here.
package sqlstore

import (
	"errors"
	"fmt"
	"sync"

	"tether/server/store"
)

// Row is a result row to scan: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows
// all are.
type Row interface {
	Scan(dst ...any) error
}

// Rows is a result set being read: *sql.Rows and pgx.Rows both are. It has
// no Close, since the two close differently: closing is the caller's.
type Rows interface {
	Row
	Next() bool
	Err() error
}

// collectStart is the most rows Collect makes room for before the first
// is read: most reads (a subscriber's replay, a page past the head) return
// few rows or none, and a page's full capacity (MaxPageLimit messages,
// 64 KiB) made for each of a reconnect storm's replays was garbage that
// held up the heap, and the resident memory, long after.
const collectStart = 16

// Collect reads every row of rows with scan. The slice is empty, not nil,
// when there is no row, so that a read returns [] rather than null; size is
// the most rows the caller expects (callers bound it, since it may come
// from a request). The slice has room for collectStart rows at first and
// for size once more come: a read returns a few rows or a whole page, and
// doubling up to a page made four slices of garbage on the way.
func Collect[T any](rows Rows, size int, scan func(Row) (T, error)) ([]T, error) {
	out := make([]T, 0, min(size, collectStart))
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		if len(out) == cap(out) && cap(out) < size {
			out = append(make([]T, 0, size), out...)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Gate keeps a store open for the calls in flight. A call holds it shared
// from Enter to Exit, so Shut, which takes it exclusively, waits for the
// calls in flight, and no call starts once it is shut.
type Gate struct {
	mu     sync.RWMutex
	closed bool
}

// Enter holds g open until Exit; once g is shut it holds nothing and
// returns store.ErrClosed.
func (g *Gate) Enter() error {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

// Exit ends a call that Enter let in.
func (g *Gate) Exit() { g.mu.RUnlock() }

// Shut waits for the calls in flight; every later Enter fails.
func (g *Gate) Shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// ScanHead reads a room's head from row; no row (no room) is 0.
func (d Dialect) ScanHead(row Row) (int64, error) {
	var head int64
	err := row.Scan(&head)
	if errors.Is(err, d.NoRows) {
		return 0, nil
	}
	return head, err
}

// Ping reads row, a store's "SELECT 1", for health checks.
func Ping(row Row) error {
	var one int
	if err := row.Scan(&one); err != nil {
		return fmt.Errorf("failed to ping the database: %w", err)
	}
	return nil
}

// RunSteps takes a schema from version from to len(steps), running each
// missing step with run, and reports whether it ran any. It refuses a
// database newer than steps: this code would not know what the missing
// steps changed.
func RunSteps(from int, steps []string, run func(step string) error) (ran bool, err error) {
	switch {
	case from > len(steps):
		return false, fmt.Errorf("database schema version %d is newer than this build (version %d): refusing to open it; run a newer tether", from, len(steps))
	case from == len(steps):
		return false, nil
	}
	for v := from; v < len(steps); v++ {
		if err := run(steps[v]); err != nil {
			return false, fmt.Errorf("failed to run migration %d: %w", v+1, err)
		}
	}
	return true, nil
}

// Failed wraps err as "failed to " + what, unless it is nil or
// store.ErrNotFound, which callers match as it is.
func Failed(err error, what string) error {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return err
	}
	return fmt.Errorf("failed to %s: %w", what, err)
}

// NoRooms reports whether a call of Rooms with only and limit lists no room
// whatever the store holds: a limit of 0 or less, or an empty only (nil
// means every room).
func NoRooms(only []string, limit int) bool {
	return limit <= 0 || (only != nil && len(only) == 0)
}
