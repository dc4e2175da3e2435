//go:build !wasm

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"tether/conn/wire"
)

// The listener's side of the fan-out; fanout.go has the relay and how the
// two work together.

// logPage is the most log entries the listener reads at once.
const logPage = 1000

// roomIdle is how long a room's position is kept without a message.
const roomIdle = 10 * time.Minute

// messagesSQL reads the messages of one room in (from, to], with the node
// that stored each.
const messagesSQL = "SELECT " + columns + ", node FROM messages WHERE room = $1 AND seq > $2 AND seq <= $3 ORDER BY seq"

// wake is the payload of a notification.
type wake struct {
	After *int64 `json:"after"` // the log's last id before these entries
	Last  int64  `json:"last"`
	Rooms []struct {
		Room     string `json:"r"`
		FirstSeq int64  `json:"f"`
		LastSeq  int64  `json:"l"`
	} `json:"rooms"`
}

// logEntry is one row of the fanout log.
type logEntry struct {
	id                int64
	room              string
	firstSeq, lastSeq int64
}

// listen runs the listener until the store closes. A wake-up that follows
// the cursor is applied as it is; otherwise (a gap: a notification was lost,
// or one too large to name its entries), and after every reconnect and
// every poll, it reads the log from the cursor.
func (f *fanout) listen(conn *pgx.Conn, cursor int64) {
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	backoff := 50 * time.Millisecond
	lastEvict := time.Now()
	readLog := true
	for f.ctx.Err() == nil {
		if conn == nil {
			var err error
			if conn, err = f.connect(f.ctx); err != nil {
				if f.ctx.Err() == nil {
					f.log.Warn("postgres: the listener failed to reconnect", "err", err, "retry_in", backoff)
				}
				sleep(f.ctx, backoff)
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			f.log.Info("postgres: the listener reconnected; catching up from the log", "cursor", cursor)
			readLog = true
		}
		if readLog {
			var err error
			if cursor, err = f.catchUp(conn, cursor); err != nil {
				f.dropConn(&conn, err)
				continue
			}
			readLog, backoff = false, 50*time.Millisecond
		}
		if time.Since(lastEvict) > roomIdle/10 {
			f.evictIdle()
			lastEvict = time.Now()
		}

		ctx, cancel := context.WithTimeout(f.ctx, f.s.opts.PollInterval)
		n, err := conn.WaitForNotification(ctx)
		cancel()
		switch {
		case f.ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			readLog = true
		case err != nil:
			f.dropConn(&conn, err)
		default:
			var w wake
			switch {
			case json.Unmarshal([]byte(n.Payload), &w) != nil:
				readLog = true
			case w.Last <= cursor:
				// A relay already read from the log.
			case w.After != nil && *w.After == cursor && len(w.Rooms) > 0:
				entries := make([]logEntry, len(w.Rooms))
				for i, r := range w.Rooms {
					entries[i] = logEntry{room: r.Room, firstSeq: r.FirstSeq, lastSeq: r.LastSeq}
				}
				if err := f.tell(conn, entries); err != nil {
					f.dropConn(&conn, err)
					continue
				}
				cursor = w.Last
			default:
				readLog = true
			}
		}
	}
}

func (f *fanout) dropConn(conn **pgx.Conn, err error) {
	if f.ctx.Err() != nil {
		return
	}
	f.log.Warn("postgres: the listener lost its connection; reconnecting", "err", err)
	(*conn).Close(context.Background())
	*conn = nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// catchUp reads the log after cursor, a page at a time, tells the hub of
// the messages it names, and returns the new cursor.
func (f *fanout) catchUp(conn *pgx.Conn, cursor int64) (int64, error) {
	for {
		entries, horizon, err := readLog(f.ctx, conn, cursor)
		if err != nil {
			return cursor, err
		}
		if horizon > cursor {
			// Entries after the cursor were pruned before this node read
			// them: it cannot know which messages they named.
			f.log.Error("postgres: the listener was away longer than the log keeps entries; resyncing",
				"cursor", cursor, "horizon", horizon)
			f.resync()
			cursor = horizon
			continue
		}
		if len(entries) == 0 {
			return cursor, nil
		}
		if err := f.tell(conn, entries); err != nil {
			return cursor, err
		}
		cursor = entries[len(entries)-1].id
		if len(entries) < logPage {
			return cursor, nil
		}
	}
}

// readLog reads a page of entries after cursor, then the horizon: read in
// this order, a horizon past the cursor proves that an entry is missing
// (or, rarely, was pruned just after the read: a needless resync).
func readLog(ctx context.Context, conn *pgx.Conn, cursor int64) ([]logEntry, int64, error) {
	b := &pgx.Batch{}
	b.Queue("SELECT id, room, first_seq, last_seq FROM fanout WHERE id > $1 ORDER BY id LIMIT $2", cursor, logPage)
	b.Queue("SELECT horizon FROM fanout_horizon")
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, 0, err
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (logEntry, error) {
		var e logEntry
		err := row.Scan(&e.id, &e.room, &e.firstSeq, &e.lastSeq)
		return e, err
	})
	if err != nil {
		return nil, 0, err
	}
	var horizon int64
	if err := br.QueryRow().Scan(&horizon); err != nil {
		return nil, 0, err
	}
	return entries, horizon, br.Close()
}

// resync forgets every room's position and has the subscribers read the
// store again.
func (f *fanout) resync() {
	f.mu.Lock()
	clear(f.rooms)
	f.mu.Unlock()
	if f.onResync != nil {
		f.onResync()
	}
}

// span is the seqs (from, to] of one room that a page of the log names
// and the hub was not told of yet.
type span struct {
	room     string
	from, to int64
	msgs     []wire.Message
	local    []bool // msgs[i] was stored by this node
}

// tell reads the messages that entries name and tells the hub of them.
func (f *fanout) tell(conn *pgx.Conn, entries []logEntry) error {
	// Plan under the lock: from where each room goes on.
	var spans []*span
	byRoom := map[string]*span{}
	f.mu.Lock()
	for _, e := range entries {
		sp := byRoom[e.room]
		if sp == nil {
			// A room with no position starts at its first entry: its
			// entries follow each other, so the earlier seqs were relayed
			// before this node started listening, and every subscriber
			// here read them from the store.
			from := e.firstSeq - 1
			if pos := f.rooms[e.room]; pos != nil {
				from = pos.last
			}
			sp = &span{room: e.room, from: from, to: from}
			byRoom[e.room] = sp
			spans = append(spans, sp)
		}
		sp.to = max(sp.to, e.lastSeq)
	}
	f.mu.Unlock()

	// Read without the lock: the writer tells the hub of local messages
	// meanwhile.
	b := &pgx.Batch{}
	var reads []*span
	for _, sp := range spans {
		if sp.to > sp.from {
			b.Queue(messagesSQL, sp.room, sp.from, sp.to)
			reads = append(reads, sp)
		}
	}
	if len(reads) > 0 {
		br := conn.SendBatch(f.ctx, b)
		for _, sp := range reads {
			if err := readSpan(br, sp, f.s.node); err != nil {
				br.Close()
				return err
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, sp := range spans {
		pos := f.rooms[sp.room]
		if pos == nil {
			pos = &roomPos{last: sp.from}
			f.rooms[sp.room] = pos
		}
		pos.logged, pos.touched = max(pos.logged, sp.to), now
		f.tellSpan(pos, sp)
	}
	return nil
}

func readSpan(br pgx.BatchResults, sp *span, node string) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var from string
		m, err := scanMessage(rows, sp.room, &from)
		if err != nil {
			return err
		}
		sp.msgs = append(sp.msgs, m)
		sp.local = append(sp.local, from == node)
	}
	return rows.Err()
}

// tellSpan tells the hub of the messages of sp that follow pos, in runs of
// one origin so that each goes to its own hook. Called with mu held.
func (f *fanout) tellSpan(pos *roomPos, sp *span) {
	start := 0
	flush := func(end int) {
		if end > start {
			hook := f.onPeer
			if sp.local[start] {
				hook = f.onLocal
			}
			if hook != nil {
				hook(sp.msgs[start:end:end])
			}
		}
		start = end
	}
	for i, m := range sp.msgs {
		switch {
		case m.Seq <= pos.last: // the writer told it already
			flush(i)
			start = i + 1
			continue
		case m.Seq != pos.last+1:
			// Seqs are dense and the log has no gap: this is a bug.
			f.log.Error("postgres: a gap in a room's messages; the rest waits for the next entry",
				"room", sp.room, "told", pos.last, "next", m.Seq)
			flush(i)
			return
		}
		if i > start && sp.local[i] != sp.local[start] {
			flush(i)
		}
		pos.last = m.Seq
	}
	flush(len(sp.msgs))
}

// evictIdle forgets the rooms that had no message for roomIdle and whose
// messages the log has named: their next entry starts where they stopped.
func (f *fanout) evictIdle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for room, pos := range f.rooms {
		if time.Since(pos.touched) > roomIdle && pos.logged >= pos.last {
			delete(f.rooms, room)
		}
	}
}
