//go:build !wasm

package sqlstore

import (
	"context"
	"database/sql"
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

// DB is a database/sql pool as a Querier.
type DB struct{ *sql.DB }

// QueryRow runs a query of one row.
func (d DB) QueryRow(ctx context.Context, query string, args ...any) Row {
	return d.QueryRowContext(ctx, query, args...)
}

// Query runs a query of a result set.
func (d DB) Query(ctx context.Context, query string, args ...any) (ResultSet, error) {
	rows, err := d.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// Exec runs a statement. A driver that cannot tell how many rows it
// changed counts none.
func (d DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.ExecContext(ctx, query, args...)
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
