//go:build !wasm

// Package postgres is tether's store for several nodes: they share one
// PostgreSQL database, and a message stored through one node reaches the
// subscribers of every other.
//
// It keeps the semantics of server/store/sqlite and passes the same
// conformance suite: one writer goroutine per node commits appends in
// batches (one statement and one round trip per batch, which the server
// commits without waiting for the node: see writer.go), the seq of a room
// is taken from its row in rooms, locked until the commit, so seqs stay
// dense across nodes, and (room, sender_id, client_id) is unique.
//
// Cross-node delivery is in fanout.go: each message's transaction also
// writes an outbox row; a relay moves the outbox into a log ordered by
// commit and sends a NOTIFY as a wake-up; every node's listener reads the
// log from its cursor and then the messages, and hands them to the hub in
// seq order per room.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/batch"
	"tether/server/store/sqlstore"
)

// DefaultMaxBatch is the most appends one transaction commits when
// Options.MaxBatch is not set.
const DefaultMaxBatch = 256

// Defaults of the fan-out's timings; see Options.
const (
	DefaultPollInterval  = 2 * time.Second
	DefaultSweepInterval = time.Second
	DefaultLogRetention  = time.Hour
)

// batchTimeout bounds one batch's round trip, so that a database that stops
// answering fails the appends instead of holding the writer forever.
const batchTimeout = 30 * time.Second

// Options tunes a Store; the zero value is ready to use.
type Options struct {
	// OnCommit is told of the messages this node stored, and OnPeerCommit
	// of those other nodes stored (nil: OnCommit is told of both). Both
	// are called one at a time, never at once, and for each room in seq
	// order without a gap: together they tell every message once, from a
	// point after Open returned on.
	OnCommit     store.CommitFunc
	OnPeerCommit store.CommitFunc
	// OnResync is called when the listener was away so long that the
	// messages it missed can no longer be told (the log was pruned): the
	// local subscribers must read them from the store again. The server
	// drops its sockets; the clients resume by seq.
	OnResync func()
	// MaxBatch is the most appends one transaction commits; 0 or less means
	// DefaultMaxBatch.
	MaxBatch int
	// PollInterval is how often the listener reads the log without a
	// notification, in case one was lost. 0 means DefaultPollInterval.
	PollInterval time.Duration
	// SweepInterval is how often the relay looks for outbox rows that a
	// node left behind when it died between its commit and its relay. 0
	// means DefaultSweepInterval.
	SweepInterval time.Duration
	// LogRetention is how long the fan-out log keeps an entry: a listener
	// away for longer resyncs. 0 means DefaultLogRetention.
	LogRetention time.Duration
	// Logger receives failures and migrations; nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollInterval, DefaultPollInterval)
	def(&o.SweepInterval, DefaultSweepInterval)
	def(&o.LogRetention, DefaultLogRetention)
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnPeerCommit == nil {
		o.OnPeerCommit = o.OnCommit
	}
}

// Store is a store.Store kept in a PostgreSQL database shared by the nodes.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	log  *slog.Logger
	// node names this Store in messages.node: random, so a restarted node
	// is a new one.
	node   string
	fanout *fanout

	// batcher is the group-commit writer: its goroutine commits the
	// appends in batches with apply and tells the fan-out of them.
	batcher *batch.Writer

	// Bookings serves the calls of store.Bookings but PutBooking and
	// RevokeParticipant (bookings.go).
	*sqlstore.Bookings

	// gate holds the store open for the calls other than Append (which
	// batcher guards): Close shuts it, waiting for the calls in flight.
	gate sqlstore.Gate

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://…; pool_max_conns and
// the other pgx parameters apply), brings its schema up to date, and starts
// listening to the other nodes. From when it returns on, OnCommit and
// OnPeerCommit are told of every new message. A database written by a newer
// tether is refused.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	opts.setDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: keep it out.
		return nil, errors.New("the PostgreSQL store URL is not a valid connection string")
	}
	guardAgainstCuts(&cfg.ConnConfig.Config)
	s := &Store{
		opts: opts,
		log:  opts.Logger,
		node: newNodeID(),
	}
	if err := s.open(ctx, cfg); err != nil {
		if s.pool != nil {
			s.pool.Close()
		}
		return nil, fmt.Errorf("failed to open the PostgreSQL database %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	s.batcher = batch.New(s.apply, batch.Options{
		Name: "postgres", MaxBatch: opts.MaxBatch, OnCommit: s.fanout.committed, Logger: s.log,
	})
	s.Bookings = sqlstore.NewBookings(dialect, bookingsSQL, s.enter, pgxQuerier{s.pool}, pgxQuerier{s.pool})
	return s, nil
}

func (s *Store) open(ctx context.Context, cfg *pgxpool.Config) error {
	var err error
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	from, err := migrate(ctx, conn.Conn(), migrations)
	conn.Release()
	if err != nil {
		return err
	}
	if from != len(migrations) {
		s.log.Info("postgres: migrated the schema", "database", cfg.ConnConfig.Database, "from", from, "to", len(migrations))
	}
	s.fanout, err = startFanout(ctx, s, cfg.ConnConfig)
	return err
}

func newNodeID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// columns are what a read returns, in scanMessage's order.
const columns = "seq, id, client_id, sender_id, sender_name, sender_role, body, sent_at"

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
	return s.read(ctx, "read new messages", room, limit,
		"SELECT "+columns+" FROM messages WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3", room, since, limit)
}

// Before returns up to limit messages of room with seq < before, the newest
// of them, in seq order. A before of 0 or less means from the newest message;
// a limit of 0 or less returns no message.
func (s *Store) Before(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	// Newest first so LIMIT keeps the newest; then back in order.
	msgs, err := s.read(ctx, "read older messages", room, limit,
		"SELECT "+columns+" FROM messages WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3", room, before, limit)
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, err
}

// enter holds the store open for a call; done releases it. op says what
// the call does, for errors: "failed to " + op.
func (s *Store) enter(ctx context.Context, op string) (done func(), err error) {
	if err := s.gate.Enter(); err != nil {
		return nil, err
	}
	// Checked here: the pool may answer an ended context with an error of
	// its own, and callers match context.Canceled.
	if err := ctx.Err(); err != nil {
		s.gate.Exit()
		return nil, fmt.Errorf("failed to %s: %w", op, err)
	}
	return s.gate.Exit, nil
}

// read runs a query of room's messages. op says what it reads, for errors:
// "failed to " + op + " in " + room.
func (s *Store) read(ctx context.Context, op, room string, limit int, sql string, args ...any) ([]wire.Message, error) {
	done, err := s.enter(ctx, op+" in "+room)
	if err != nil {
		return nil, err
	}
	defer done()
	if limit <= 0 {
		return []wire.Message{}, nil
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to %s in %s: %w", op, room, err)
	}
	defer rows.Close()
	// limit comes from the caller; only trust it as a size hint up to a page.
	msgs, err := sqlstore.Collect(rows, min(limit, wire.MaxPageLimit), func(r sqlstore.Row) (wire.Message, error) {
		return scanMessage(r, room)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to %s in %s: %w", op, room, err)
	}
	return msgs, nil
}

// scanMessage reads one row of the columns, plus any extra destinations.
func scanMessage(rows sqlstore.Row, room string, extra ...any) (wire.Message, error) {
	m := wire.Message{Room: room}
	var senderID, senderName, body []byte
	dst := append([]any{&m.Seq, &m.ID, &m.ClientID, &senderID, &senderName, &m.Sender.Role, &body, &m.SentAt}, extra...)
	if err := rows.Scan(dst...); err != nil {
		return wire.Message{}, err
	}
	m.Sender.ID, m.Sender.Name, m.Body = string(senderID), string(senderName), string(body)
	return m, nil
}

// Head returns the last seq of room, 0 for a room with no message.
func (s *Store) Head(ctx context.Context, room string) (int64, error) {
	done, err := s.enter(ctx, "read the head of "+room)
	if err != nil {
		return 0, err
	}
	defer done()
	head, err := dialect.ScanHead(s.pool.QueryRow(ctx, "SELECT head FROM rooms WHERE room = $1", room))
	if err != nil {
		return 0, fmt.Errorf("failed to read the head of %s: %w", room, err)
	}
	return head, nil
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	done, err := s.enter(ctx, "ping the database")
	if err != nil {
		return err
	}
	defer done()
	return sqlstore.Ping(s.pool.QueryRow(ctx, "SELECT 1"))
}

// Close stops taking appends, waits for those already started to be
// committed and answered, relays what this node committed last, stops
// listening and closes the pool. Every later call returns store.ErrClosed;
// closing again returns what the first Close returned.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.batcher.Close()
		s.gate.Shut()
		s.closeErr = s.fanout.stop()
		s.pool.Close()
	})
	return s.closeErr
}
