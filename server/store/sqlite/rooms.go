//go:build !wasm

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"tether/conn/wire"
	"tether/server/store/sqlstore"
)

// The statements behind Rooms and the activity it orders by (migration 2).
const (
	// The writer keeps each room's head and the store's largest activity in
	// memory (it is the only writer), so an append reads neither; these
	// statements fill that memory and move the room row along.
	headForWriteSQL = "SELECT head FROM rooms WHERE room = ?"
	// maxActivitySQL reads the end of rooms_by_activity.
	maxActivitySQL = "SELECT coalesce(max(activity), 0) FROM rooms"
	newRoomSQL     = "INSERT INTO rooms (room, head, activity) VALUES (?, 1, ?)"
	bumpSQL        = "UPDATE rooms SET head = ?, activity = ? WHERE room = ?"

	// roomCols are the last message's columns, in the order Rooms scans them.
	roomCols = "m.seq, m.id, m.client_id, m.sender_id, m.sender_name, m.sender_role, m.body, m.sent_at"

	// roomsSQL walks rooms_by_activity from its end, with one key lookup
	// of each room's last message: no sort, whatever the number of rooms.
	roomsSQL = "SELECT r.room, r.head, " + roomCols + " FROM rooms r" +
		" JOIN messages m ON m.room = r.room AND m.seq = r.head ORDER BY r.activity DESC LIMIT ?"

	// roomsOnlySQL takes the names as one JSON array. CROSS JOIN keeps
	// json_each the outer loop: one key lookup per name, then a sort of
	// those few rooms, never a walk of every room.
	roomsOnlySQL = "SELECT r.room, r.head, " + roomCols + " FROM json_each(?) j" +
		" CROSS JOIN rooms r ON r.room = j.value" +
		" JOIN messages m ON m.room = r.room AND m.seq = r.head ORDER BY r.activity DESC LIMIT ?"
)

// Rooms returns up to limit rooms with messages, each with its head and
// last message, the most recently appended to first. only nil means every
// room; otherwise only the rooms it names.
func (s *Store) Rooms(ctx context.Context, only []string, limit int) ([]wire.RoomInfo, error) {
	if err := s.gate.Enter(); err != nil {
		return nil, err
	}
	defer s.gate.Exit()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("failed to list the rooms: %w", err)
	}
	if sqlstore.NoRooms(only, limit) {
		return []wire.RoomInfo{}, nil
	}
	var rows *sql.Rows
	var err error
	if only == nil {
		rows, err = s.roomsStmt.QueryContext(ctx, limit)
	} else {
		// Each name once: a repeat would list its room twice.
		names := slices.Clone(only)
		slices.Sort(names)
		names = slices.Compact(names)
		var list []byte
		if list, err = json.Marshal(names); err == nil {
			rows, err = s.roomsOnlyStmt.QueryContext(ctx, string(list), limit)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to list the rooms: %w", err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, min(limit, wire.MaxRoomsLimit), func(row sqlstore.Row) (wire.RoomInfo, error) {
		r := wire.RoomInfo{Last: &wire.Message{}}
		m := r.Last
		err := row.Scan(&r.Room, &r.Head, &m.Seq, &m.ID, &m.ClientID,
			&m.Sender.ID, &m.Sender.Name, &m.Sender.Role, &m.Body, &m.SentAt)
		m.Room = r.Room
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list the rooms: %w", err)
	}
	return out, nil
}
