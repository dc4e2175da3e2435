//go:build !wasm

package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

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
// room already holds with m.ClientID. It returns once the batch holding m is
// committed. If ctx ends before the writer takes m, nothing is stored; once
// taken, m is committed even if Append returns ctx.Err() first.
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

// appendSQL calls tether_append (schema.go) for one message.
const appendSQL = "SELECT seq, id, sender_id, sender_name, sender_role, body, sent_at, created FROM tether_append($1, $2, $3, $4, $5, $6, $7, $8, $9)"

// apply runs batch in one transaction, filling results, and returns the
// messages it created in commit order (seq order within each room).
//
// The calls are pipelined: sent at once, run by the server in one implicit
// transaction that commits at the end, answered in one round trip.
func (s *Store) apply(batch []*appendReq, results []appendResult) ([]wire.Message, error) {
	// Rooms are locked in name order, the same on every node, so that two
	// nodes' batches never wait for each other in a cycle. The sort is
	// stable: within a room, appends keep the order they came in.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(batch[a].m.Room, batch[b].m.Room) })

	b := &pgx.Batch{}
	for _, i := range order {
		m := batch[i].m
		b.Queue(appendSQL, m.Room, m.ID, m.ClientID, []byte(m.Sender.ID), []byte(m.Sender.Name),
			m.Sender.Role, []byte(m.Body), m.SentAt, s.node)
	}
	// Not the callers' contexts: once taken, a request is written whatever
	// its caller does, and one caller must not abort the others' batch.
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	br := s.pool.SendBatch(ctx, b)
	var created []wire.Message
	for _, i := range order {
		m := batch[i].m
		msg := wire.Message{Room: m.Room, ClientID: m.ClientID}
		var senderID, senderName, body []byte
		var isNew bool
		err := br.QueryRow().Scan(&msg.Seq, &msg.ID, &senderID, &senderName, &msg.Sender.Role, &body, &msg.SentAt, &isNew)
		if err != nil {
			br.Close()
			return nil, fmt.Errorf("append to %q: %w", m.Room, err)
		}
		msg.Sender.ID, msg.Sender.Name, msg.Body = string(senderID), string(senderName), string(body)
		results[i] = appendResult{msg: msg, created: isNew}
		if isNew {
			created = append(created, msg)
		}
	}
	// The implicit transaction commits when the server reaches the end of
	// the pipeline; Close reads that answer.
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return created, nil
}
