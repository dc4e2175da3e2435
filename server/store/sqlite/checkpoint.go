//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"
)

// DefaultCheckpointEvery is how often the background checkpointer runs when
// Options.CheckpointEvery is not set.
const DefaultCheckpointEvery = 250 * time.Millisecond

// The WAL is copied into the database file by a checkpointer of its own,
// on its own connection, while the writer goes on committing: a checkpoint
// copies the pages written since the last one and syncs the database file,
// which takes long enough (hundreds of milliseconds for 10,000 pages here)
// that a commit paying for it stalls every append queued behind it. SQLite's
// own checkpoint at the end of a commit (wal_autocheckpoint, see
// walCheckpointPages) stays as a backstop for a WAL that grows past it
// anyway. PASSIVE neither waits for nor blocks the writer or the readers.

// openCheckpointer opens the connection the checkpointer uses.
func (s *Store) openCheckpointer(path string) error {
	var err error
	s.checkpointer, err = openDB(path, url.Values{"_busy_timeout": {fmt.Sprint(busyTimeoutMS)}})
	if err != nil {
		return err
	}
	s.checkpointer.SetMaxOpenConns(1)
	s.checkpointer.SetMaxIdleConns(1)
	return nil
}

// runCheckpointer checkpoints every interval until stop is closed.
func (s *Store) runCheckpointer(every time.Duration, stop <-chan struct{}) {
	defer close(s.checkpointerDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var busy, walPages, copied int
		err := s.checkpointer.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &walPages, &copied)
		cancel()
		if err != nil && err != sql.ErrNoRows {
			s.log.Warn("sqlite: background checkpoint failed", "err", err)
			continue
		}
		s.checkpoints.Add(1)
	}
}
