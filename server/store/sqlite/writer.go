//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tether/conn/wire"
	"tether/server/store"
)

// appendReq is one Append waiting for the writer.
type appendReq struct {
	m store.NewMessage
	// reply has room for the answer so that the writer never waits for a
	// caller that stopped waiting.
	reply chan appendResult
}

type appendResult struct {
	msg     wire.Message
	created bool
	err     error
}

// Append stores m with the next seq of its room, or returns the message the
// room already holds from m.Sender with m.ClientID. It returns once the
// batch holding m is committed. If ctx ends before the writer takes m,
// nothing is stored; once taken, m is committed even if Append returns
// ctx.Err() first.
func (s *Store) Append(ctx context.Context, m store.NewMessage) (wire.Message, bool, error) {
	// select picks at random among ready cases: check first, so an ended
	// context never lets a request through.
	if err := ctx.Err(); err != nil {
		return wire.Message{}, false, err
	}
	req := &appendReq{m: m, reply: make(chan appendResult, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return wire.Message{}, false, store.ErrClosed
	}
	select {
	case s.reqs <- req:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return wire.Message{}, false, ctx.Err()
	}
	select {
	case res := <-req.reply:
		return res.msg, res.created, res.err
	case <-ctx.Done():
		// An answer that is already there is worth more than the error.
		select {
		case res := <-req.reply:
			return res.msg, res.created, res.err
		default:
			return wire.Message{}, false, ctx.Err()
		}
	}
}

// runWriter commits the appends until Close closes reqs. It takes one
// request, then whatever others already wait, up to maxBatch: under load the
// appends that queue during one commit share the next one's fsync, and a lone
// append is never delayed to wait for company. While appends come faster
// than commits (the last commit held more than one), it also waits up to
// gather for more before committing.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	batch := make([]*appendReq, 0, s.maxBatch)
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	last := 0 // appends in the previous commit
	for first := range s.reqs {
		batch = append(batch[:0], first)
		var wait <-chan time.Time
		if last > 1 && s.gather > 0 {
			gather.Reset(s.gather)
			wait = gather.C
		}
	drain:
		for len(batch) < s.maxBatch {
			if wait == nil {
				select {
				case req, ok := <-s.reqs:
					if !ok {
						break drain
					}
					batch = append(batch, req)
				default:
					break drain
				}
				continue
			}
			select {
			case req, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, req)
			case <-wait:
				wait = nil
				break drain
			}
		}
		if wait != nil {
			gather.Stop() // the batch filled up first
		}
		last = len(batch)
		s.commit(batch)
		clear(batch) // let the answered requests be collected
	}
}

// commit runs batch in one transaction, tells OnCommit of the messages it
// created, then answers every request. When the transaction fails, every
// request of the batch gets the error and nothing of it is stored.
func (s *Store) commit(batch []*appendReq) {
	results := make([]appendResult, len(batch))
	created, err := s.apply(batch, results)
	if err != nil {
		s.log.Error("sqlite: append batch failed", "appends", len(batch), "err", err)
		err = fmt.Errorf("sqlite: append: %w", err)
		for i := range results {
			results[i] = appendResult{err: err}
		}
	} else if len(created) > 0 && s.onCommit != nil {
		// Before the replies, so that a subscriber learns of a message no
		// later than its sender's ack.
		s.onCommit(created)
	}
	for i, req := range batch {
		req.reply <- results[i]
	}
}

// maxKnownHeads bounds the writer's memory of room heads; past it the
// memory starts over (each room is read again on its next append).
const maxKnownHeads = 1 << 16

// apply runs batch in one transaction, filling results, and returns the
// messages it created in seq order.
//
// Per append it runs two statements: the insert, which the (room,
// sender_id, client_id) index turns into a no-op for a message the room
// already holds,
// and the room row's update. The next seq comes from the writer's memory of
// each room's head, read from the database the first time a room is seen:
// with one writer nothing else moves it. What a batch learns joins that
// memory only once the batch is committed, and any failure forgets it all,
// so a rolled-back batch never leaves a head the database does not have.
func (s *Store) apply(batch []*appendReq, results []appendResult) (created []wire.Message, err error) {
	// Not the callers' contexts: once taken, a request is written whatever
	// its caller does, and one caller must not abort the others' batch.
	ctx := context.Background()
	defer func() {
		if err != nil {
			s.heads, s.activity = nil, 0
		}
	}()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	activity := s.activity
	if activity == 0 {
		if err := tx.StmtContext(ctx, s.activityStmt).QueryRowContext(ctx).Scan(&activity); err != nil {
			return nil, fmt.Errorf("largest activity: %w", err)
		}
	}
	insert := tx.StmtContext(ctx, s.insertStmt)
	bump := tx.StmtContext(ctx, s.bumpStmt)
	heads := make(map[string]int64, len(batch)) // this batch's
	for i, req := range batch {
		m := req.m
		head, known := heads[m.Room]
		if !known {
			head, known = s.heads[m.Room]
		}
		if !known {
			err := tx.StmtContext(ctx, s.headWStmt).QueryRowContext(ctx, m.Room).Scan(&head)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("head of %q: %w", m.Room, err)
			}
		}
		seq := head + 1
		if head == 0 {
			// A new room: its row first, which the message refers to.
			if _, err := tx.StmtContext(ctx, s.newRoomStmt).ExecContext(ctx, m.Room, activity+1); err != nil {
				return nil, fmt.Errorf("new room %q: %w", m.Room, err)
			}
		}
		res, err := insert.ExecContext(ctx, m.Room, seq, m.ID, m.ClientID,
			m.Sender.ID, m.Sender.Name, m.Sender.Role, m.Body, m.SentAt)
		if err != nil {
			return nil, fmt.Errorf("insert %s/%d: %w", m.Room, seq, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("insert %s/%d: %w", m.Room, seq, err)
		} else if n == 0 {
			// The room holds this sender's client_id already (committed earlier or
			// earlier in this batch: the transaction sees its own inserts).
			if head == 0 {
				return nil, fmt.Errorf("insert %s/%d: a new room already holds client_id %q", m.Room, seq, m.ClientID)
			}
			msg := wire.Message{Room: m.Room}
			if err := tx.StmtContext(ctx, s.findStmt).QueryRowContext(ctx, m.Room, m.Sender.ID, m.ClientID).Scan(
				&msg.Seq, &msg.ID, &msg.ClientID, &msg.Sender.ID, &msg.Sender.Name, &msg.Sender.Role, &msg.Body, &msg.SentAt); err != nil {
				return nil, fmt.Errorf("find client_id %q in %q: %w", m.ClientID, m.Room, err)
			}
			heads[m.Room] = head
			results[i] = appendResult{msg: msg}
			continue
		}
		activity++
		if head > 0 {
			if _, err := bump.ExecContext(ctx, seq, activity, m.Room); err != nil {
				return nil, fmt.Errorf("next seq of %q: %w", m.Room, err)
			}
		}
		heads[m.Room] = seq
		msg := wire.Message{Room: m.Room, Seq: seq, ID: m.ID, ClientID: m.ClientID, Sender: m.Sender, Body: m.Body, SentAt: m.SentAt}
		results[i] = appendResult{msg: msg, created: true}
		created = append(created, msg)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if s.heads == nil || len(s.heads)+len(heads) > maxKnownHeads {
		s.heads = make(map[string]int64, len(heads))
	}
	for room, head := range heads {
		s.heads[room] = head
	}
	s.activity = activity
	return created, nil
}
