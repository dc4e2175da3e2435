//go:build !wasm

package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

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
// request, then whatever others already wait, up to MaxBatch: under load the
// appends that queue during one commit share the next one, and a lone
// append is never delayed to wait for company.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	batch := make([]*appendReq, 0, s.opts.MaxBatch)
	for first := range s.reqs {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < s.opts.MaxBatch {
			select {
			case req, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, req)
			default:
				break drain
			}
		}
		s.commit(batch)
		clear(batch) // let the answered requests be collected
	}
}

// commit runs batch in one transaction, tells the fan-out of the messages
// it created, then answers every request. When the transaction fails, every
// request of the batch gets the error and nothing of it is stored.
func (s *Store) commit(batch []*appendReq) {
	results := make([]appendResult, len(batch))
	created, err := s.apply(batch, results)
	if err != nil {
		s.log.Error("postgres: append batch failed", "appends", len(batch), "err", err)
		err = fmt.Errorf("postgres: append: %w", err)
		for i := range results {
			results[i] = appendResult{err: err}
		}
	} else if len(created) > 0 {
		// Before the replies, so that a local subscriber learns of a
		// message no later than its sender's ack.
		s.fanout.committed(created)
	}
	for i, req := range batch {
		req.reply <- results[i]
	}
}

// appendBatchSQL stores a batch with tether_append_batch (schema.go).
const appendBatchSQL = "CALL tether_append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9)"

// apply runs batch in one transaction, filling results, and returns the
// messages it created in commit order (seq order within each room).
//
// The batch is one statement, a procedure that commits before it answers:
// the server never waits for this node while the batch holds its rooms'
// rows. A node cut off from the network after sending it therefore holds
// nothing the others need: the server commits, and only this node never
// learns it (a retry with the same client_id finds the message). A
// pipeline of calls, or one plain statement, would commit only at the Sync
// that follows the Execute, and a cut before the Sync held the rows until
// TCP gave up.
func (s *Store) apply(batch []*appendReq, results []appendResult) ([]wire.Message, error) {
	// Rooms are locked in name order, the same on every node, so that two
	// nodes' batches never wait for each other in a cycle. The sort is
	// stable: within a room, appends keep the order they came in.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(batch[a].m.Room, batch[b].m.Room) })

	n := len(batch)
	rooms, ids, clientIDs, roles := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	senderIDs, senderNames, bodies := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	sentAts := make([]int64, n)
	for j, i := range order {
		m := batch[i].m
		rooms[j], ids[j], clientIDs[j], roles[j] = m.Room, m.ID, m.ClientID, m.Sender.Role
		senderIDs[j], senderNames[j], bodies[j] = []byte(m.Sender.ID), []byte(m.Sender.Name), []byte(m.Body)
		sentAts[j] = m.SentAt
	}
	// Not the callers' contexts: once taken, a request is written whatever
	// its caller does, and one caller must not abort the others' batch.
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	// The answer: per message its seq, whether it is new, and for a repeat
	// the message stored (NULL elements for the new ones).
	var (
		seqs                []int64
		isNew               []bool
		oldIDs, oldRoles    []*string
		oldNames, oldBodies [][]byte
		oldSentAts          []*int64
	)
	err := s.pool.QueryRow(ctx, appendBatchSQL, rooms, ids, clientIDs, senderIDs, senderNames, roles, bodies, sentAts, s.node).
		Scan(&seqs, &isNew, &oldIDs, &oldNames, &oldRoles, &oldBodies, &oldSentAts)
	if err != nil {
		return nil, fmt.Errorf("append batch: %w", err)
	}
	for _, got := range []int{len(seqs), len(isNew), len(oldIDs), len(oldNames), len(oldRoles), len(oldBodies), len(oldSentAts)} {
		if got != n {
			return nil, fmt.Errorf("append batch: %d answers for %d appends", got, n)
		}
	}
	var created []wire.Message
	for j, i := range order {
		m := batch[i].m
		msg := wire.Message{Room: m.Room, Seq: seqs[j], ID: m.ID, ClientID: m.ClientID, Sender: m.Sender, Body: m.Body, SentAt: m.SentAt}
		if !isNew[j] {
			if oldIDs[j] == nil || oldRoles[j] == nil || oldSentAts[j] == nil {
				return nil, fmt.Errorf("append to %q: a repeated client_id came back incomplete", m.Room)
			}
			msg.ID, msg.Sender.Name, msg.Sender.Role = *oldIDs[j], string(oldNames[j]), *oldRoles[j]
			msg.Body, msg.SentAt = string(oldBodies[j]), *oldSentAts[j]
		}
		results[i] = appendResult{msg: msg, created: isNew[j]}
		if isNew[j] {
			created = append(created, msg)
		}
	}
	return created, nil
}
