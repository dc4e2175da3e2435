//go:build !wasm

package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// Querier runs a store's statements. DB makes one of a database/sql pool;
// the PostgreSQL store wraps its pgx pool.
type Querier interface {
	QueryRow(ctx context.Context, query string, args ...any) Row
	Query(ctx context.Context, query string, args ...any) (ResultSet, error)
	// Exec runs a statement and says how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
}

// ResultSet is Rows that its reader closes.
type ResultSet interface {
	Rows
	Close()
}

// DB is a database/sql pool as a Querier whose statements are prepared
// on first use and kept: SQLite's driver otherwise compiles a query again
// on every call, which cost more than running it (the hub reads a room's
// booking for every message it has not read lately). The store's queries
// are a fixed set; past maxPrepared distinct ones a query runs unprepared.
type DB struct {
	*sql.DB
	stmts *stmtCache
}

// maxPrepared bounds the statements a DB keeps.
const maxPrepared = 64

type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// NewDB makes a Querier of db.
func NewDB(db *sql.DB) DB {
	return DB{DB: db, stmts: &stmtCache{m: map[string]*sql.Stmt{}}}
}

// stmt returns query prepared, or nil when it cannot be (past maxPrepared,
// or the preparation failed: the unprepared call then says why). It
// prepares outside the lock, which waits for a connection of the pool.
func (d DB) stmt(ctx context.Context, query string) *sql.Stmt {
	if d.stmts == nil {
		return nil
	}
	d.stmts.mu.Lock()
	st, ok := d.stmts.m[query]
	full := len(d.stmts.m) >= maxPrepared
	d.stmts.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := d.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	if kept, ok := d.stmts.m[query]; ok {
		st.Close()
		return kept
	}
	if len(d.stmts.m) >= maxPrepared {
		st.Close()
		return nil
	}
	d.stmts.m[query] = st
	return st
}

// QueryRow runs a query of one row.
func (d DB) QueryRow(ctx context.Context, query string, args ...any) Row {
	if st := d.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.QueryRowContext(ctx, query, args...)
}

// Query runs a query of a result set.
func (d DB) Query(ctx context.Context, query string, args ...any) (ResultSet, error) {
	var rows *sql.Rows
	var err error
	if st := d.stmt(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = d.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// Exec runs a statement. A driver that cannot tell how many rows it
// changed counts none.
func (d DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var res sql.Result
	var err error
	if st := d.stmt(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = d.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, nil
	}
	return n, nil
}

// sqlRows closes without an error: what matters of a read is in Err.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }
