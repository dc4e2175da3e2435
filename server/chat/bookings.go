//go:build !wasm

package chat

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/store"
)

// The hub and the bookings of contract v2: a session's token names no
// rooms, its holder's rooms are the user's bookings, read live; a
// cancelled booking's room takes no more messages.

// bookingTTL is how long the hub trusts a booking it read: a change made
// through another node (PostgreSQL) shows within it; one made through this
// node's operator API at once (BookingChanged).
const bookingTTL = 2 * time.Second

// maxCachedBookings bounds the hub's memory of bookings; past it the
// memory starts over.
const maxCachedBookings = 10_000

// bookingCache remembers the bookings read lately, by room; a room with
// no booking is remembered too (found false).
type bookingCache struct {
	mu sync.Mutex
	m  map[string]cachedBooking
}

type cachedBooking struct {
	b     store.Booking
	found bool
	at    time.Time
}

// SetBookings lets the hub read the bookings of st: session tokens are let
// into their user's bookings, and cancelled bookings take no message.
// Without it only the rooms of a token's claim count.
func (h *Hub) SetBookings(st store.Bookings) { h.bookingStore = st }

// BookingChanged forgets what the hub knows of room's booking (the
// operator changed it on this node).
func (h *Hub) BookingChanged(room string) {
	h.bookings.mu.Lock()
	delete(h.bookings.m, room)
	h.bookings.mu.Unlock()
}

// booking returns the booking of room, from memory when read lately;
// found is false when the room has none (or there is no booking store).
func (h *Hub) booking(ctx context.Context, room string) (b store.Booking, found bool, err error) {
	if h.bookingStore == nil {
		return b, false, nil
	}
	now := time.Now()
	h.bookings.mu.Lock()
	c, ok := h.bookings.m[room]
	h.bookings.mu.Unlock()
	if ok && now.Sub(c.at) < bookingTTL {
		return c.b, c.found, nil
	}
	b, err = h.bookingStore.Booking(ctx, room)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return b, false, err
	}
	found = err == nil
	h.bookings.mu.Lock()
	if h.bookings.m == nil || len(h.bookings.m) >= maxCachedBookings {
		h.bookings.m = map[string]cachedBooking{}
	}
	h.bookings.m[room] = cachedBooking{b: b, found: found, at: now}
	h.bookings.mu.Unlock()
	return b, found, nil
}

// canAccess reports whether the holder of c may read and write room: by
// the token's rooms, or for a session's token by the user's side of the
// room's booking, unless that side was revoked. A session's token names
// rooms only on a dev node (a demo visitor who is no side of the room's
// booking); a side of it is held to its side. A booking that cannot be
// read lets nobody in (and is logged).
func (h *Hub) canAccess(ctx context.Context, c *auth.Claims, room string) bool {
	if c.Sid == "" || h.bookingStore == nil {
		return h.auth.CanAccess(c, room)
	}
	b, found, err := h.booking(ctx, room)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Error("failed to read a booking", "room", room, "err", err)
		}
		return false
	}
	if side, ok := b.Side(c.Subject); found && ok {
		return !b.Revoked(side)
	}
	return h.auth.CanAccess(c, room)
}

// visibleRooms are the rooms an inbox of c lists (see auth.VisibleRooms):
// for a session's token, the user's bookings not revoked on their side,
// and the rooms its token names (a dev node's).
func (h *Hub) visibleRooms(ctx context.Context, c *auth.Claims) (rooms []string, all bool, err error) {
	rooms, all = h.auth.VisibleRooms(c)
	if c.Sid == "" || h.bookingStore == nil || all {
		return rooms, all, nil
	}
	list, err := h.bookingStore.BookingsOf(ctx, c.Subject)
	if err != nil {
		return nil, false, err
	}
	for _, b := range list {
		if side, ok := b.Side(c.Subject); ok && !b.Revoked(side) && !slices.Contains(rooms, b.Room) {
			rooms = append(rooms, b.Room)
		}
	}
	return rooms, false, nil
}

// cancelled reports whether room's booking is cancelled: its chat is then
// read-only. A booking that cannot be read counts as not cancelled: the
// send goes on, and the store has the last word.
func (h *Hub) cancelled(ctx context.Context, room string) bool {
	b, found, err := h.booking(ctx, room)
	return err == nil && found && b.Status == store.StatusCancelled
}

// cancelledMessage is what a send to a cancelled booking is told.
const cancelledMessage = "this booking is cancelled: its chat is read-only"

// RoomCancelled tells the sockets subscribed to room that its booking was
// cancelled (an error frame cancelled, ref the room): the pages turn the
// chat read-only at once.
func (h *Hub) RoomCancelled(room string) {
	h.BookingChanged(room)
	h.mu.Lock()
	var conns []*wsConn
	if r := h.rooms[room]; r != nil {
		for s := range r.subs {
			conns = append(conns, s.conn)
		}
	}
	h.mu.Unlock()
	frame, err := wire.Encode(&wire.ErrorFrame{Code: wire.CodeCancelled, Message: cancelledMessage, Ref: room})
	if err != nil {
		return
	}
	for _, c := range conns {
		c.enqueue(frame)
	}
}
