package app

import (
	"context"
	"errors"
	"time"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/components"
	"tether/conn/wire"
)

// ErrNoToken is the error a Connector gives when the page has no token and
// no way to get one.
var ErrNoToken = errors.New("no token")

// errOpening refuses a message typed before the page's session opened; the
// composer shows it after "Not sent: ".
var errOpening = errors.New("the chat is still opening: try again in a moment")

// RoomLister lists the rooms the user may see that hold messages, newest
// activity first (GET /api/rooms).
type RoomLister interface {
	ListRooms(ctx context.Context) ([]wire.RoomInfo, error)
}

// BookingLister reads the bookings of the session's user as they see
// them: the other party, the appointment, the place (GET /api/me).
type BookingLister interface {
	Bookings(ctx context.Context) ([]BookingInfo, error)
}

// BookingInfo is one booking of the user.
type BookingInfo struct {
	Room   string
	Status string
	components.Booking
}

// RoomsEvery is how often an open inbox asks for rooms that are new to it;
// the rooms it knows update live.
const RoomsEvery = 20 * time.Second

// followRooms joins every room lister names into store, now and every
// RoomsEvery, until stop is called: a booking that gets its first message
// shows up in the inbox without a reload.
func followRooms(lister RoomLister, store *Store) (stop func()) {
	return every(RoomsEvery, func(ctx context.Context) {
		if rooms, err := lister.ListRooms(ctx); err == nil {
			for _, r := range rooms {
				store.Join(r.Room)
			}
		}
	})
}

// followBookings reads the session's bookings now and every RoomsEvery,
// handing each list to got, until stop is called: a new booking, or a
// changed one, shows in the inbox without a reload.
func followBookings(lister BookingLister, got func([]BookingInfo)) (stop func()) {
	return every(RoomsEvery, func(ctx context.Context) {
		if list, err := lister.Bookings(ctx); err == nil && ctx.Err() == nil {
			got(list)
		}
	})
}

// every runs read now and then every period on a goroutine of its own,
// each run bounded to 15 s, until stop is called (read's context then
// ends).
func every(period time.Duration, read func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
			read(rctx)
			rcancel()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return cancel
}

// roomChat is the open room of a page: its view from the store, the message
// list and the composer.
type roomChat struct {
	room    string
	session *Session
	err     string
	view    RoomView
	stop    func()
	// booking is what the header says of the room's booking, once read;
	// bookingCancelled its status then.
	booking          *components.Booking
	bookingCancelled bool
}

// alerts are the open session's background alerts, or nil.
func (c *roomChat) alerts() components.AlertsSource {
	if c.session == nil {
		return nil
	}
	return c.session.Alerts
}

// cancelled reports whether the room's booking is cancelled: the chat is
// read-only, and the banner says so.
func (c *roomChat) cancelled() bool { return c.view.Cancelled || c.bookingCancelled }

// open asks connector for the session of scope and shows room in it.
func (c *roomChat) open(ctx goapp.Context, connector Connector, scope Scope, status *lateStatus, room string) {
	c.close()
	c.room = room
	connector.Connect(scope, func(s *Session, err error) {
		ctx.Dispatch(func(ctx goapp.Context) {
			if c.room != room {
				return // the page moved on
			}
			if err != nil {
				c.err = sessionError(err)
				return
			}
			status.set(s.Status, s.Outbox, s.arrivals())
			c.show(ctx, s, room)
		})
	})
}

// show follows room of an open session; it runs on the UI goroutine.
func (c *roomChat) show(ctx goapp.Context, s *Session, room string) {
	c.room, c.session, c.err = room, s, ""
	c.readBooking(ctx, s, room)
	s.Store.Join(room)
	s.Store.SetActive(room)
	c.view = s.Store.View(room)
	c.stop = s.Store.Watch(room, func(v RoomView) {
		ctx.Dispatch(func(goapp.Context) {
			if c.room == room {
				c.view = v
			}
		})
	})
}

// close stops following the room.
func (c *roomChat) close() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	if c.session != nil && c.room != "" {
		c.session.Store.SetActive("")
	}
	c.room, c.session, c.err, c.view, c.booking, c.bookingCancelled = "", nil, "", RoomView{}, nil, false
}

// readBooking reads, off the UI goroutine, what the header says of room's
// booking; a session without bookings (a platform's token) keeps the plain
// header.
func (c *roomChat) readBooking(ctx goapp.Context, s *Session, room string) {
	if s.Bookings == nil {
		return
	}
	go func() {
		rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		list, err := s.Bookings.Bookings(rctx)
		if err != nil {
			return
		}
		for _, b := range list {
			if b.Room == room {
				booking := b.Booking
				ctx.Dispatch(func(goapp.Context) {
					if c.room == room && c.session == s {
						c.booking = &booking
						c.bookingCancelled = b.Status == "cancelled"
					}
				})
				return
			}
		}
	}()
}

func (c *roomChat) send(body string) error {
	if c.session == nil {
		return errOpening
	}
	_, err := c.session.Store.Send(c.room, body)
	return err
}

func (c *roomChat) retry(clientID string) {
	if c.session != nil {
		c.session.Store.Retry(clientID)
	}
}

func (c *roomChat) discard(clientID string) {
	if c.session != nil {
		c.session.Store.Discard(clientID)
	}
}

func (c *roomChat) loadOlder() {
	if c.session != nil {
		c.session.Store.LoadOlder(c.room)
	}
}

// section draws the room under its header and the connection banner, as
// both pages show it; classes are the section's.
func (c *roomChat) section(status *lateStatus, title, subtitle string, alerts components.AlertsSource, classes ...string) goapp.UI {
	return goapp.Section().Class(classes...).Body(
		&components.ChatHeader{Title: title, Subtitle: subtitle, Booking: c.booking, Source: status, Alerts: alerts},
		&components.ConnectionStatusBanner{Source: status, Outbox: status, Arrivals: status, Cancelled: c.cancelled()},
		c.render(),
	)
}

// render draws the messages and the composer.
func (c *roomChat) render() goapp.UI {
	notice := c.err
	switch {
	case notice != "":
	case c.view.Forbidden:
		notice = "You are not part of this booking, so its chat is closed to you."
	case c.view.Err != "":
		notice = "This chat could not be opened: " + c.view.Err
	}
	// The notices live in a box that is always there: go-app matches
	// children by position, and a notice appearing before the list and the
	// composer (the first page failing offline while the user types) would
	// make them new components and lose the draft.
	return goapp.Div().Class("chat-main").Body(
		goapp.Div().Class("chat-notices").Body(
			goapp.If(notice != "", func() goapp.UI {
				return goapp.P().Class("chat-notice").DataSet("testid", "chat-error").Attr("role", "alert").Text(notice)
			}),
			goapp.If(notice == "" && c.view.OlderErr != "", func() goapp.UI {
				return goapp.P().Class("chat-hint").DataSet("testid", "history-error").
					Text("Earlier messages could not be loaded yet; they will load when the connection is back.")
			}),
		),
		&components.MessageList{
			Items:        c.view.Messages,
			HasOlder:     c.view.HasOlder,
			LoadingOlder: c.view.LoadingOlder,
			OnRetry:      c.retry,
			OnDiscard:    c.discard,
			OnLoadOlder:  c.loadOlder,
		},
		&components.Composer{OnSend: c.send, Disabled: c.err != "" || c.cancelled(), Placeholder: c.placeholder()},
	)
}

// placeholder is the composer's, or "" for its own.
func (c *roomChat) placeholder() string {
	if c.cancelled() {
		return "This booking was cancelled"
	}
	return ""
}

// sessionError is what the page says when it cannot open its session.
func sessionError(err error) string {
	if errors.Is(err, ErrNoToken) {
		return "Open this chat from the link in your booking confirmation."
	}
	return "Could not open the chat: " + err.Error()
}
