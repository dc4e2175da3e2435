//go:build !wasm

// Package sqlite is tether's default store: one SQLite file, written by a
// single goroutine that commits appends in batches, read by a pool of
// connections.
//
// An Append returns only after its batch is committed with synchronous=FULL
// in WAL mode, so an acknowledged message survives a crash of the process and
// a power loss; batching shares that fsync among the appends that queued
// during the previous one.
//
// The package does not build for wasm: modernc.org/sqlite does not, and the
// browser never opens the store.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/batch"
	"tether/server/store/sqlstore"
)

// DefaultMaxBatch is the most appends one transaction commits when
// Options.MaxBatch is not set.
const DefaultMaxBatch = 256

// DefaultGather is how long the writer waits for more appends before a
// commit when Options.Gather is not set (see Options.Gather).
const DefaultGather = time.Millisecond

// walCheckpointPages is how many pages (40 MiB of 4 KiB pages) the WAL may
// grow to before a commit copies them into the database file itself; the
// background checkpointer (checkpoint.go) normally does it long before. At
// SQLite's default of 1000, every commit under load paid for a checkpoint
// that copied nearly every page it held: across 1000 rooms, appends spread
// over many pages, and few are written twice in 1000 frames. At 10,000 most
// checkpointed pages were written many times and are copied once, and the
// store commits about four times as many appends a second. Durability does
// not change: every commit still waits for its fsync of the WAL.
const walCheckpointPages = 10000

// busyTimeoutMS is how long a connection waits for a lock another process
// holds (a backup, a second server by mistake) before failing.
const busyTimeoutMS = 5000

// Options tunes a Store; the zero value is ready to use.
type Options struct {
	// OnCommit, when set, is told of the messages each transaction created.
	OnCommit store.CommitFunc
	// MaxBatch is the most appends one transaction commits; 0 or less means
	// DefaultMaxBatch.
	MaxBatch int
	// Gather is how long the writer waits for more appends before it
	// commits, while appends come faster than commits: the previous commit
	// held more than one. Each commit writes the pages it changed to the WAL
	// and waits for an fsync, whatever its size, so under load a wait this
	// short buys much larger batches. A lone append (the previous commit
	// held one) is never held back. 0 means DefaultGather; below 0, never
	// wait.
	Gather time.Duration
	// CheckpointEvery is how often a background checkpointer copies the WAL
	// into the database file (see checkpoint.go). 0 means
	// DefaultCheckpointEvery; below 0, none runs and only the writer's
	// commits checkpoint, at walCheckpointPages.
	CheckpointEvery time.Duration
	// Logger receives failures and migrations; nil means slog.Default().
	Logger *slog.Logger
}

// Store is a store.Store kept in one SQLite file.
type Store struct {
	writer *sql.DB // one connection, used only by the writer goroutine
	reader *sql.DB
	// checkpointer is the background checkpointer's connection; nil when
	// none runs.
	checkpointer     *sql.DB
	stopCheckpoints  chan struct{}
	checkpointerDone chan struct{}
	checkpoints      atomic.Int64 // background checkpoints run, for tests
	log              *slog.Logger

	// Writer statements, run inside each batch's transaction.
	findStmt, headWStmt, activityStmt, newRoomStmt, bumpStmt, insertStmt *sql.Stmt
	// heads and activity are what the writer knows of the rooms table
	// (see apply); only the writer goroutine touches them.
	heads    map[string]int64
	batch    batchState // apply's, for the writer goroutine only
	activity int64      // 0: not read yet
	// Reader statements.
	afterStmt, beforeStmt, headStmt, roomsStmt, roomsOnlyStmt *sql.Stmt

	// batcher is the group-commit writer: its goroutine commits the
	// appends in batches with apply.
	batcher *batch.Writer

	// Bookings serves the calls of store.Bookings but PutBooking and
	// RevokeParticipant (bookings.go): reads on the readers, writes on the
	// writer.
	*sqlstore.Bookings

	// gate holds the store open for the calls other than Append (which
	// batcher guards): Close shuts it, waiting for the calls in flight.
	gate sqlstore.Gate

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens the database at path, creating it if needed, and brings its
// schema up to date. The folder must exist. A database written by a newer
// tether, with a schema this code does not know, is refused.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("the SQLite store needs a database path")
	}
	s := &Store{log: opts.Logger, batch: batchState{
		heads: map[string]int64{}, activities: map[string]int64{}, newRooms: map[string]int64{},
	}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.open(path); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("failed to open the SQLite database %s: %w", path, err)
	}
	if opts.CheckpointEvery >= 0 {
		every := opts.CheckpointEvery
		if every == 0 {
			every = DefaultCheckpointEvery
		}
		if err := s.openCheckpointer(path); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("failed to open the SQLite database %s: %w", path, err)
		}
		s.stopCheckpoints, s.checkpointerDone = make(chan struct{}), make(chan struct{})
		go s.runCheckpointer(every, s.stopCheckpoints)
	}
	batching := batch.Options{
		Name: "sqlite", MaxBatch: opts.MaxBatch, Gather: opts.Gather, OnCommit: opts.OnCommit, Logger: s.log,
	}
	if batching.MaxBatch <= 0 {
		batching.MaxBatch = DefaultMaxBatch
	}
	// A Gather below 0 stays as it is: the batcher never waits then.
	if batching.Gather == 0 {
		batching.Gather = DefaultGather
	}
	s.batcher = batch.New(s.apply, batching)
	s.Bookings = sqlstore.NewBookings(dialect, bookingsSQL, s.enterCall, sqlstore.NewDB(s.reader), sqlstore.NewDB(s.writer))
	return s, nil
}

func (s *Store) open(path string) error {
	ctx := context.Background()
	var err error
	// IMMEDIATE takes the write lock when a transaction begins rather than
	// at its first write, so a second process waits at BEGIN (busy_timeout)
	// instead of failing with SQLITE_BUSY halfway through a batch.
	s.writer, err = openDB(path, url.Values{
		"_busy_timeout": {fmt.Sprint(busyTimeoutMS)},
		"_foreign_keys": {"1"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"FULL"},
		"_txlock":       {"immediate"},
		"_pragma":       {fmt.Sprintf("wal_autocheckpoint(%d)", walCheckpointPages)},
	})
	if err != nil {
		return err
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	if err := checkDurable(ctx, s.writer); err != nil {
		return err
	}
	from, err := migrate(ctx, s.writer, migrations)
	if err != nil {
		return err
	}
	if from != len(migrations) {
		s.log.Info("sqlite: migrated the schema", "path", path, "from", from, "to", len(migrations))
	}

	// Readers never write; query_only turns a bug that tries into an error.
	// journal_mode is left out: WAL is a property of the file, set above.
	s.reader, err = openDB(path, url.Values{
		"_busy_timeout": {fmt.Sprint(busyTimeoutMS)},
		"_query_only":   {"1"},
	})
	if err != nil {
		return err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.reader.SetMaxOpenConns(n)
	// As many idle as open: a closed connection loses its prepared statements.
	s.reader.SetMaxIdleConns(n)

	const cols = "seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at"
	stmts := []struct {
		db   *sql.DB
		dst  **sql.Stmt
		text string
	}{
		{s.writer, &s.findStmt, "SELECT " + cols + " FROM messages WHERE room = ? AND sender_id = ? AND client_id = ?"},
		{s.writer, &s.headWStmt, headForWriteSQL},
		{s.writer, &s.activityStmt, maxActivitySQL},
		{s.writer, &s.newRoomStmt, newRoomSQL},
		{s.writer, &s.bumpStmt, bumpSQL},
		// A client_id the room already holds from the same sender inserts nothing: apply then
		// answers with the stored message.
		{s.writer, &s.insertStmt, "INSERT INTO messages (room, seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)" +
			" ON CONFLICT (room, sender_id, client_id) DO NOTHING"},
		{s.reader, &s.afterStmt, "SELECT " + cols + " FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?"},
		// Newest first so LIMIT keeps the newest; Before puts them back in order.
		{s.reader, &s.beforeStmt, "SELECT " + cols + " FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?"},
		{s.reader, &s.headStmt, "SELECT head FROM rooms WHERE room = ?"},
		{s.reader, &s.roomsStmt, roomsSQL},
		{s.reader, &s.roomsOnlyStmt, roomsOnlySQL},
	}
	for _, st := range stmts {
		if *st.dst, err = st.db.PrepareContext(ctx, st.text); err != nil {
			return fmt.Errorf("failed to prepare %q: %w", st.text, err)
		}
	}
	return nil
}

// openDB opens a pool on path with the driver parameters params. The path
// goes in a file: URI, escaped, so that a '?' or '%' in a folder name stays
// part of the name.
func openDB(path string, params url.Values) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") { // a Windows drive letter: file:///C:/...
		p = "/" + p
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: params.Encode()}
	return sql.Open("sqlite", u.String())
}

// checkDurable makes sure the pragmas took: SQLite answers a journal_mode it
// cannot set (on some network file systems) by keeping the old one, without
// an error.
func checkDurable(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("failed to read journal_mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, not wal", mode)
	}
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("failed to read synchronous: %w", err)
	}
	if sync < 2 { // 2 is FULL
		return fmt.Errorf("synchronous is %d, not FULL (2)", sync)
	}
	return nil
}

// Append stores m with the next seq of its room, or returns the message the
// room already holds from m.Sender with m.ClientID. It returns once the
// batch holding m is committed. If ctx ends before the writer takes m,
// nothing is stored; once taken, m is committed even if Append returns
// ctx.Err() first.
func (s *Store) Append(ctx context.Context, m store.NewMessage) (wire.Message, bool, error) {
	return s.batcher.Append(ctx, m)
}

// After returns up to limit messages of room with seq > since, in seq order.
// A limit of 0 or less returns no message.
func (s *Store) After(ctx context.Context, room string, since int64, limit int) ([]wire.Message, error) {
	return s.page(ctx, s.afterStmt, room, since, limit, "new")
}

// Before returns up to limit messages of room with seq < before, the newest
// of them, in seq order. A before of 0 or less means from the newest message,
// so a client pages back from the end without knowing the head; a limit of 0
// or less returns no message.
func (s *Store) Before(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	msgs, err := s.page(ctx, s.beforeStmt, room, before, limit, "older")
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, err
}

// page reads up to limit messages of room with stmt, which takes the room,
// the seq to read from and the limit; which says which messages, for the
// errors.
func (s *Store) page(ctx context.Context, stmt *sql.Stmt, room string, from int64, limit int, which string) ([]wire.Message, error) {
	if err := s.gate.Enter(); err != nil {
		return nil, err
	}
	defer s.gate.Exit()
	if limit <= 0 {
		return []wire.Message{}, nil
	}
	rows, err := stmt.QueryContext(ctx, room, from, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s messages in %s: %w", which, room, err)
	}
	msgs, err := scanMessages(rows, room, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s messages in %s: %w", which, room, err)
	}
	return msgs, nil
}

// Head returns the last seq of room, 0 for a room with no message.
func (s *Store) Head(ctx context.Context, room string) (int64, error) {
	if err := s.gate.Enter(); err != nil {
		return 0, err
	}
	defer s.gate.Exit()
	head, err := dialect.ScanHead(s.headStmt.QueryRowContext(ctx, room))
	if err != nil {
		return 0, fmt.Errorf("failed to read the head of %s: %w", room, err)
	}
	return head, nil
}

// Ping checks that the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Exit()
	return sqlstore.Ping(s.reader.QueryRowContext(ctx, "SELECT 1"))
}

// Close stops taking appends, waits for those already started to be
// committed and answered, then closes the database. Every later call returns
// store.ErrClosed; closing again returns what the first Close returned.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.batcher.Close()
		s.gate.Shut()
		if s.stopCheckpoints != nil {
			close(s.stopCheckpoints)
			<-s.checkpointerDone
		}
		s.closeErr = s.closeDBs()
	})
	return s.closeErr
}

// closeDBs releases the statements and pools that were opened; Open calls it
// too after a partial failure.
func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.findStmt, s.headWStmt, s.activityStmt, s.newRoomStmt, s.bumpStmt, s.insertStmt, s.afterStmt, s.beforeStmt, s.headStmt, s.roomsStmt, s.roomsOnlyStmt} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	// Readers first, so that the writer is the last connection: the last
	// one to close checkpoints the WAL into the database.
	for _, db := range []*sql.DB{s.checkpointer, s.reader, s.writer} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("failed to close the SQLite database: %w", err)
	}
	return nil
}

// scanMessages reads every row of rows into messages of room.
func scanMessages(rows *sql.Rows, room string, limit int) ([]wire.Message, error) {
	defer rows.Close()
	// limit comes from the caller; only trust it as a size hint up to a page.
	return sqlstore.Collect(rows, min(limit, wire.MaxPageLimit), func(r sqlstore.Row) (wire.Message, error) {
		m := wire.Message{Room: room}
		err := r.Scan(&m.Seq, &m.ID, &m.ClientID, &m.Sender.ID, &m.Sender.Name, &m.Sender.Role, &m.Body, &m.SentAt)
		return m, err
	})
}
