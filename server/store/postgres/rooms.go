//go:build !wasm

package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tether/conn/wire"
	"tether/server/store"
)

// The queries behind Rooms; activity is migration 2's. Both join each room
// to its last message by key.
const (
	// roomsSQL walks rooms_by_activity from its end: no sort, whatever the
	// number of rooms.
	roomsSQL = "SELECT " + columns + ", r.room, r.head FROM rooms r" +
		" JOIN messages m ON m.room = r.room AND m.seq = r.head" +
		" ORDER BY r.activity DESC LIMIT $1"
	// roomsOnlySQL looks the named rooms up by key, then sorts those few.
	roomsOnlySQL = "SELECT " + columns + ", r.room, r.head FROM rooms r" +
		" JOIN messages m ON m.room = r.room AND m.seq = r.head" +
		" WHERE r.room = ANY($2::text[]) ORDER BY r.activity DESC LIMIT $1"
)

// Rooms returns up to limit rooms with messages, each with its head and
// last message, the most recently appended to first. only nil means every
// room; otherwise only the rooms it names.
func (s *Store) Rooms(ctx context.Context, only []string, limit int) ([]wire.RoomInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	// Checked here: the pool may answer an ended context with an error of
	// its own, and callers match context.Canceled.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("failed to list the rooms: %w", err)
	}
	if limit <= 0 || (only != nil && len(only) == 0) {
		return []wire.RoomInfo{}, nil
	}
	var rows pgx.Rows
	var err error
	if only == nil {
		rows, err = s.pool.Query(ctx, roomsSQL, limit)
	} else {
		// ANY matches a repeated name once: no need to remove repeats.
		rows, err = s.pool.Query(ctx, roomsOnlySQL, limit, only)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to list the rooms: %w", err)
	}
	defer rows.Close()
	out := make([]wire.RoomInfo, 0, min(limit, wire.MaxRoomsLimit))
	for rows.Next() {
		var r wire.RoomInfo
		m, err := scanMessage(rows, "", &r.Room, &r.Head)
		if err != nil {
			return nil, fmt.Errorf("failed to list the rooms: %w", err)
		}
		m.Room = r.Room
		r.Last = &m
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list the rooms: %w", err)
	}
	return out, nil
}
