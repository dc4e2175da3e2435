//go:build !wasm

// Package store defines where tether keeps its messages. The chat server
// talks to a Store; server/store/sqlite is the default and every store must
// pass the conformance suite in server/store/storetest.
package store

import (
	"context"
	"errors"

	"tether/conn/wire"
)

// ErrClosed is returned by every call after Close.
var ErrClosed = errors.New("store is closed")

// NewMessage is a message to append. The store assigns its Seq.
type NewMessage struct {
	Room     string
	ID       string // unique id chosen by the server
	ClientID string // the sender's idempotency key, unique per (room, sender)
	Sender   wire.User
	Body     string
	SentAt   int64 // unix milliseconds
}

// Store keeps the messages of every room.
//
// Seqs are dense per room: the first message of a room is 1, each next one
// is the previous plus one, assigned in the same transaction as the insert,
// so a reader never sees a gap. Appends are durable when they return: a
// message whose Append returned survives a crash of the process.
type Store interface {
	// Append stores m with the next seq of its room and returns it with
	// created true. When the room already holds a message from the same
	// sender (m.Sender.ID) with m.ClientID it stores nothing and returns that
	// message with created false. A client_id is keyed by its sender, not
	// by the room alone, so that another participant who sends a user's
	// next client_id first (they are predictable) makes a message of their
	// own instead of turning the user's send into a repeat of theirs. An
	// error does not mean m was not stored (the context may end after the
	// commit): a retry with the same ClientID finds it if it was.
	Append(ctx context.Context, m NewMessage) (msg wire.Message, created bool, err error)
	// After returns up to limit messages of room with seq > since, in seq
	// order; a limit of 0 or less returns none.
	After(ctx context.Context, room string, since int64, limit int) ([]wire.Message, error)
	// Before returns up to limit messages of room with seq < before (the
	// newest of them), in seq order; a before of 0 or less starts from the
	// newest message.
	Before(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error)
	// Head returns the last seq of room, 0 for a room with no message.
	Head(ctx context.Context, room string) (int64, error)
	// Rooms returns up to limit rooms that hold at least one message, each
	// with its head and last message, the most recently appended to first
	// (a repeated client_id appends nothing, so it does not count). only
	// nil means every room; otherwise only the rooms named in it (names
	// repeated or without messages are skipped, and an empty only returns
	// none). A limit of 0 or less returns none.
	Rooms(ctx context.Context, only []string, limit int) ([]wire.RoomInfo, error)
	// Ping checks that the store answers, for health checks.
	Ping(ctx context.Context) error
	// Close waits for the appends in flight, then releases the store.
	Close() error
}

// CommitFunc is told of the messages a store committed, in commit order
// (so in seq order within each room), from one goroutine at a time. It must
// not block: the chat hub only queues them for its subscribers.
type CommitFunc func([]wire.Message)
