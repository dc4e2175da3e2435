//go:build !wasm

package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tether/conn/wire"
	"tether/server/store/sqlstore"
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
	done, err := s.enter(ctx, "list the rooms")
	if err != nil {
		return nil, err
	}
	defer done()
	if sqlstore.NoRooms(only, limit) {
		return []wire.RoomInfo{}, nil
	}
	var rows pgx.Rows
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
	out, err := sqlstore.Collect(rows, min(limit, wire.MaxRoomsLimit), func(row sqlstore.Row) (wire.RoomInfo, error) {
		var r wire.RoomInfo
		m, err := scanMessage(row, "", &r.Room, &r.Head)
		m.Room = r.Room
		r.Last = &m
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list the rooms: %w", err)
	}
	return out, nil
}
