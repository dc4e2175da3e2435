//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/batch"
)

// maxKnownHeads bounds the writer's memory of room heads; past it the
// memory starts over (each room is read again on its next append).
const maxKnownHeads = 1 << 16

// batchState is what apply works with during one batch, kept for the
// next one.
type batchState struct {
	heads, activities, newRooms map[string]int64
	moved                       []string
}

// apply, the batcher's ApplyFunc, runs msgs in one transaction, filling
// results, and returns the messages it created in seq order.
//
// Per append it runs one statement, the insert, which the (room,
// sender_id, client_id) index turns into a no-op for a message the room
// already holds; per room the batch created messages in, one more, the
// room row's insert or update, which moves its head and activity to its
// last message of the batch: a busy room's row is written once a commit,
// not once a message. The next seq comes from the writer's memory of
// each room's head, read from the database the first time a room is seen:
// with one writer nothing else moves it. What a batch learns joins that
// memory only once the batch is committed, and any failure forgets it all,
// so a rolled-back batch never leaves a head the database does not have.
func (s *Store) apply(msgs []store.NewMessage, results []batch.Result) (created []wire.Message, err error) {
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
		return nil, fmt.Errorf("failed to begin the batch: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	activity := s.activity
	if activity == 0 {
		if err := tx.StmtContext(ctx, s.activityStmt).QueryRowContext(ctx).Scan(&activity); err != nil {
			return nil, fmt.Errorf("failed to read the latest activity: %w", err)
		}
	}
	insert := tx.StmtContext(ctx, s.insertStmt)
	// This batch's heads; moved are the rooms the batch created messages
	// in, in the order it first did, each with the activity of its last
	// one; newRooms, those whose row the batch inserted, with the activity
	// it inserted. Kept from batch to batch (only this goroutine runs
	// apply): made afresh, they were a fifth of what apply allocated.
	b := &s.batch
	clear(b.heads)
	clear(b.activities)
	clear(b.newRooms)
	b.moved = b.moved[:0]
	heads, activities, newRooms := b.heads, b.activities, b.newRooms
	for i, m := range msgs {
		head, known := heads[m.Room]
		if !known {
			head, known = s.heads[m.Room]
		}
		if !known {
			err := tx.StmtContext(ctx, s.headWStmt).QueryRowContext(ctx, m.Room).Scan(&head)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("failed to read the head of %s: %w", m.Room, err)
			}
		}
		seq := head + 1
		if head == 0 {
			// A new room: its row first, which the message refers to.
			if _, err := tx.StmtContext(ctx, s.newRoomStmt).ExecContext(ctx, m.Room, activity+1); err != nil {
				return nil, fmt.Errorf("failed to create room %s: %w", m.Room, err)
			}
			newRooms[m.Room] = activity + 1
		}
		res, err := insert.ExecContext(ctx, m.Room, seq, m.ID, m.ClientID,
			m.Sender.ID, m.Sender.Name, m.Sender.Role, m.Body, m.SentAt)
		if err != nil {
			return nil, fmt.Errorf("failed to insert message %s/%d: %w", m.Room, seq, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("failed to insert message %s/%d: %w", m.Room, seq, err)
		} else if n == 0 {
			// The room holds this sender's client_id already (committed earlier or
			// earlier in this batch: the transaction sees its own inserts).
			if head == 0 {
				return nil, fmt.Errorf("new room %s already holds client_id %q", m.Room, m.ClientID)
			}
			msg := wire.Message{Room: m.Room}
			if err := tx.StmtContext(ctx, s.findStmt).QueryRowContext(ctx, m.Room, m.Sender.ID, m.ClientID).Scan(
				&msg.Seq, &msg.ID, &msg.ClientID, &msg.Sender.ID, &msg.Sender.Name, &msg.Sender.Role, &msg.Body, &msg.SentAt); err != nil {
				return nil, fmt.Errorf("failed to find client_id %q in %s: %w", m.ClientID, m.Room, err)
			}
			heads[m.Room] = head
			results[i] = batch.Result{Msg: msg}
			continue
		}
		activity++
		if _, seen := activities[m.Room]; !seen {
			b.moved = append(b.moved, m.Room)
		}
		activities[m.Room] = activity
		heads[m.Room] = seq
		msg := wire.Message{Room: m.Room, Seq: seq, ID: m.ID, ClientID: m.ClientID, Sender: m.Sender, Body: m.Body, SentAt: m.SentAt}
		results[i] = batch.Result{Msg: msg, Created: true}
		created = append(created, msg)
	}
	bump := tx.StmtContext(ctx, s.bumpStmt)
	for _, room := range b.moved {
		if inserted, ok := newRooms[room]; ok && inserted == activities[room] {
			continue // a new room of one message: its row is right already
		}
		if _, err := bump.ExecContext(ctx, heads[room], activities[room], room); err != nil {
			return nil, fmt.Errorf("failed to advance the head of %s: %w", room, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("failed to commit the batch: %w", err)
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
