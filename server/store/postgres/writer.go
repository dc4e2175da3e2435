//go:build !wasm

package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/batch"
)

// appendBatchSQL stores a batch with tether_append_batch (schema.go).
const appendBatchSQL = "CALL tether_append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9)"

// apply, the batcher's ApplyFunc, runs msgs in one transaction, filling
// results, and returns the messages it created in commit order (seq order
// within each room).
//
// The batch is one statement, a procedure that commits before it answers:
// the server never waits for this node while the batch holds its rooms'
// rows. A node cut off from the network after sending it therefore holds
// nothing the others need: the server commits, and only this node never
// learns it (a retry with the same client_id finds the message). A
// pipeline of calls, or one plain statement, would commit only at the Sync
// that follows the Execute, and a cut before the Sync held the rows until
// TCP gave up.
func (s *Store) apply(msgs []store.NewMessage, results []batch.Result) ([]wire.Message, error) {
	// Rooms are locked in name order, the same on every node, so that two
	// nodes' batches never wait for each other in a cycle. The sort is
	// stable: within a room, appends keep the order they came in.
	order := make([]int, len(msgs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(msgs[a].Room, msgs[b].Room) })

	n := len(msgs)
	rooms, ids, clientIDs, roles := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	senderIDs, senderNames, bodies := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	sentAts := make([]int64, n)
	for j, i := range order {
		m := msgs[i]
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
		return nil, fmt.Errorf("failed to append the batch: %w", err)
	}
	for _, got := range []int{len(seqs), len(isNew), len(oldIDs), len(oldNames), len(oldRoles), len(oldBodies), len(oldSentAts)} {
		if got != n {
			return nil, fmt.Errorf("the batch of %d appends got %d answers", n, got)
		}
	}
	var created []wire.Message
	for j, i := range order {
		m := msgs[i]
		msg := wire.Message{Room: m.Room, Seq: seqs[j], ID: m.ID, ClientID: m.ClientID, Sender: m.Sender, Body: m.Body, SentAt: m.SentAt}
		if !isNew[j] {
			if oldIDs[j] == nil || oldRoles[j] == nil || oldSentAts[j] == nil {
				return nil, fmt.Errorf("a repeated client_id of %s came back incomplete", m.Room)
			}
			msg.ID, msg.Sender.Name, msg.Sender.Role = *oldIDs[j], string(oldNames[j]), *oldRoles[j]
			msg.Body, msg.SentAt = string(oldBodies[j]), *oldSentAts[j]
		}
		results[i] = batch.Result{Msg: msg, Created: isNew[j]}
		if isNew[j] {
			created = append(created, msg)
		}
	}
	return created, nil
}
