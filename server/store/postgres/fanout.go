//go:build !wasm

package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"tether/conn/wire"
	"tether/server/store"
)

// How the nodes learn of each other's messages.
//
// Each append's transaction writes an outbox row (room, seq). It does not
// NOTIFY: PostgreSQL serialises the commits of every transaction that
// notified on one global lock, and the appends would queue on it under load.
//
// The relay moves outbox rows into the fanout log, one entry per room
// (first_seq..last_seq), and NOTIFYs a wake-up. Relays take an
// advisory lock, so they run one at a time across the nodes and fanout.id
// follows commit order: a reader sees every entry up to some id, never a
// later entry without the earlier ones. Since a room's seqs commit in
// order, its entries follow each other without a gap. Each node relays right
// after its own commits; a sweep also relays what a node left behind when it
// died between its commit and its relay.
//
// The listener keeps a cursor in the log. A notification is a small
// wake-up: the entries of one relay (room, first and last seq) and the log's
// id before them. When that id is the cursor, the listener reads the
// messages the entries name that its hub was not told of (none, for the
// node that stored them) and tells the hub in seq order per room. Otherwise
// (a notification was lost, or was too large to name its entries) it reads
// the log from its cursor, as it does after a reconnect and at every poll:
// since the log is in the database, a lost notification or connection loses
// nothing.
//
// A node tells its own messages to its hub at once, before the acks, when
// they follow what it told last in their room; otherwise (the first message
// of a room since the start, or another node's message in between still on
// its way) they reach the hub through the log like the others.

// notifyChannel is the channel of the wake-ups; their payload is a wake.
const notifyChannel = "tether_fanout"

// relayLockKey serialises the relays of every node ("tether" in ASCII,
// plus 2).
const relayLockKey = 0x746574686572_02

// logEndSQL reads the log's last id.
const logEndSQL = "SELECT coalesce((SELECT max(id) FROM fanout), (SELECT horizon FROM fanout_horizon))"

// relaySQL moves the outbox into the log and wakes the listeners, in the
// transaction that holds relayLockKey (after it in one Query message). The
// wake-up names the entries (room, first and last seq) and the log's last
// id before them, so that a listener whose cursor is that id needs not read
// the log; when they do not fit in a payload (8000 bytes) it names only the
// last id. Every sub-statement sees the log as it was before the insert.
const relaySQL = `WITH prev AS (` + logEndSQL + ` AS id),
	moved AS (DELETE FROM outbox RETURNING room, seq),
	logged AS (
		INSERT INTO fanout (room, first_seq, last_seq)
		SELECT room, min(seq), max(seq) FROM moved GROUP BY room
		RETURNING id, room, first_seq, last_seq),
	wake AS (
		SELECT max(id) AS last, json_build_object(
			'after', (SELECT id FROM prev), 'last', max(id),
			'rooms', json_agg(json_build_object('r', room, 'f', first_seq, 'l', last_seq) ORDER BY id))::text AS payload
		FROM logged HAVING count(*) > 0)
	SELECT pg_notify('` + notifyChannel + `',
		CASE WHEN octet_length(payload) <= 7900 THEN payload ELSE json_build_object('last', last)::text END)
	FROM wake`

// horizonSQL records the last id of the log entries older than the
// retention (%s seconds); pruneSQL drops the entries up to it.
const (
	horizonSQL = `UPDATE fanout_horizon SET horizon = greatest(horizon,
		coalesce((SELECT max(id) FROM fanout WHERE logged_at < now() - make_interval(secs => %s)), 0))`
	pruneSQL = `DELETE FROM fanout WHERE id <= (SELECT horizon FROM fanout_horizon)`
)

// fanout is one node's relay and listener, and the position of each room:
// the last seq told to the hub.
type fanout struct {
	s        *Store
	log      *slog.Logger
	connCfg  *pgx.ConnConfig
	onLocal  store.CommitFunc
	onPeer   store.CommitFunc
	onResync func()

	// mu guards rooms, and is held while the hub is told, so that the
	// writer and the listener tell it one at a time and in seq order.
	mu    sync.Mutex
	rooms map[string]*roomPos

	relayNow chan struct{} // a wake-up for the relay, never blocking
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// roomPos is how far the hub was told of one room.
type roomPos struct {
	last    int64 // the last seq told
	logged  int64 // the last seq the log named
	touched time.Time
}

// startFanout connects the listener and starts it and the relay. Every
// message relayed after it returns is told.
func startFanout(ctx context.Context, s *Store, connCfg *pgx.ConnConfig) (*fanout, error) {
	f := &fanout{
		s: s, log: s.log, connCfg: connCfg,
		onLocal: s.opts.OnCommit, onPeer: s.opts.OnPeerCommit, onResync: s.opts.OnResync,
		rooms:    map[string]*roomPos{},
		relayNow: make(chan struct{}, 1),
	}
	conn, err := f.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to listen for other nodes' commits: %w", err)
	}
	// After LISTEN: every relay committed later wakes the listener, and
	// every one committed before is at or below the cursor. A log pruned
	// empty ends at the horizon.
	var cursor int64
	if err := conn.QueryRow(ctx, logEndSQL).Scan(&cursor); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("failed to read the log's end: %w", err)
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.wg.Add(2)
	go func() { defer f.wg.Done(); f.listen(conn, cursor) }()
	go func() { defer f.wg.Done(); f.runRelay() }()
	return f, nil
}

// stop ends the listener, relays what is left in the outbox and ends the
// relay.
func (f *fanout) stop() error {
	f.cancel()
	f.wg.Wait()
	return nil
}

func (f *fanout) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg := f.connCfg.Copy()
	// Named, so that an operator tells it apart in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = "tether listener"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return conn, nil
}

// committed is called by the writer with the messages of one commit, in
// seq order per room. It tells the hub of those that follow what it was
// told, and wakes the relay.
func (f *fanout) committed(msgs []wire.Message) {
	f.mu.Lock()
	now := time.Now()
	tell := make([]wire.Message, 0, len(msgs))
	for _, m := range msgs {
		pos := f.rooms[m.Room]
		if pos == nil && m.Seq == 1 {
			// A new room: nothing came before.
			pos = &roomPos{}
			f.rooms[m.Room] = pos
		}
		if pos == nil || m.Seq != pos.last+1 {
			continue // the listener tells it, after what comes before
		}
		pos.last, pos.touched = m.Seq, now
		tell = append(tell, m)
	}
	if len(tell) > 0 && f.onLocal != nil {
		f.onLocal(tell)
	}
	f.mu.Unlock()
	select {
	case f.relayNow <- struct{}{}:
	default:
	}
}

// runRelay relays after each local commit and at every sweep, and once
// more when the store closes, so that the last messages of a node that
// shuts down reach the others at once.
func (f *fanout) runRelay() {
	sweep := time.NewTicker(f.s.opts.SweepInterval)
	defer sweep.Stop()
	pruneEvery := max(f.s.opts.LogRetention/10, time.Second)
	nextPrune := time.Now()
	for {
		select {
		case <-f.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := f.relay(ctx, false); err != nil {
				f.log.Warn("postgres: the last relay failed; another node's sweep relays it", "err", err)
			}
			cancel()
			return
		case <-f.relayNow:
		case <-sweep.C:
		}
		prune := time.Now().After(nextPrune)
		if err := f.relay(f.ctx, prune); err != nil {
			if f.ctx.Err() == nil {
				f.log.Warn("postgres: relay failed; retrying at the next sweep", "err", err)
			}
			continue
		}
		if prune {
			nextPrune = time.Now().Add(pruneEvery)
		}
	}
}

// relay moves the outbox into the log and notifies, in one transaction
// that holds the relay lock; with prune it also drops old log entries.
//
// The statements go in one Query message (Exec without arguments uses the
// simple protocol), which the server runs as one transaction and commits
// without waiting for this node: a node cut off in the middle of a relay
// does not hold the relay lock, and with it every node's relays, until TCP
// gives up. A pipeline would commit only at its Sync.
func (f *fanout) relay(ctx context.Context, prune bool) error {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	stmts := []string{fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", int64(relayLockKey)), relaySQL}
	if prune {
		secs := strconv.FormatFloat(f.s.opts.LogRetention.Seconds(), 'f', -1, 64)
		stmts = append(stmts, fmt.Sprintf(horizonSQL, secs), pruneSQL)
	}
	_, err := f.s.pool.Exec(ctx, strings.Join(stmts, ";\n"))
	return err
}
