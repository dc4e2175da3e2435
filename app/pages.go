package app

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"tether/components"
)

// pageReady marks a page's root once the wasm has mounted it, so a test (or
// a person in the inspector) can tell a live page from the pre-rendered HTML.
const pageReady = "ready"

// HomePage is "/": how to reach a booking chat, and in dev mode links to a
// demo booking as either side.
type HomePage struct {
	goapp.Compo

	// Dev shows the demo links.
	Dev bool

	mounted bool
}

// OnMount marks the page live; it runs on the UI goroutine.
func (p *HomePage) OnMount(goapp.Context) { p.mounted = true }

// Render draws the page.
func (p *HomePage) Render() goapp.UI {
	return goapp.Main().
		Class("page", "home").
		DataSet("testid", "home-page").
		DataSet(pageReady, p.mounted).
		Body(
			goapp.H1().Text("tether"),
			goapp.P().Text("The chat for your booking. Open it from the link in your booking confirmation."),
			goapp.If(p.Dev, func() goapp.UI {
				return goapp.Nav().Class("demo-links").Aria("label", "Demo booking").Body(
					goapp.H2().Text("Demo booking"),
					goapp.Ul().Body(
						goapp.Li().Body(goapp.A().
							DataSet("testid", "demo-customer").
							Href("/chat/"+DemoRoom+"?as=customer&name=Casey").
							Text("Open as the customer")),
						goapp.Li().Body(goapp.A().
							DataSet("testid", "demo-therapist").
							Href("/therapist?as=therapist&name=Taylor").
							Text("Open as the therapist")),
					),
				)
			}),
		)
}

// ChatPage is "/chat/{room}": the customer's chat for one booking.
type ChatPage struct {
	goapp.Compo

	// Source is the status shown until the page's session opens (and the
	// status the server pre-renders).
	Source components.StatusSource
	// Connect opens the page's session; nil on the server.
	Connect Connector

	room    string
	status  *lateStatus
	chat    roomChat
	mounted bool
}

// OnInit prepares the status the header and banner keep for their life.
func (p *ChatPage) OnInit() { p.status = newLateStatus(p.Source) }

// OnPreRender reads the room on the server.
func (p *ChatPage) OnPreRender(ctx goapp.Context) { p.readRoom(ctx) }

// OnMount marks the page live; it runs on the UI goroutine.
func (p *ChatPage) OnMount(goapp.Context) { p.mounted = true }

// OnNav reads the room and opens its session; it runs on the UI goroutine.
func (p *ChatPage) OnNav(ctx goapp.Context) {
	p.readRoom(ctx)
	if p.Connect == nil || p.room == "" || p.chat.room == p.room {
		return
	}
	q := ctx.Page().URL().Query()
	scope := scopeOf(p.room, q)
	p.chat.open(ctx, p.Connect, scope, p.status, p.room)
}

// OnDismount stops following the room.
func (p *ChatPage) OnDismount() { p.chat.close() }

func (p *ChatPage) readRoom(ctx goapp.Context) {
	p.room = strings.TrimPrefix(ctx.Page().URL().Path, "/chat/")
	ctx.Page().SetTitle("Booking chat · tether")
}

// Render draws the page.
func (p *ChatPage) Render() goapp.UI {
	return roomPage("chat", p.room, p.mounted,
		p.chat.section(p.status, "Booking chat", "Booking "+p.room, p.chat.alerts(), "chat"),
	)
}

// roomPage is the root of a page that shows a room: kind names its class
// and test id, and its data attributes say which room and whether the wasm
// has mounted it.
func roomPage(kind, room string, mounted bool, body ...goapp.UI) goapp.UI {
	return goapp.Main().
		Class("page", kind).
		DataSet("testid", kind+"-page").
		DataSet("room", room).
		DataSet(pageReady, mounted).
		Body(body...)
}

// TherapistPage is "/therapist": the inbox of a therapist's booking rooms
// with the open chat beside it (?room= names the open one).
type TherapistPage struct {
	goapp.Compo

	// Source is the status shown until the page's session opens.
	Source components.StatusSource
	// Connect opens the page's session; nil on the server.
	Connect Connector

	status  *lateStatus
	opening bool // the session was asked for
	session *Session
	err     string
	rooms   []RoomSummary
	// bookings are the session's bookings by room, once read (contract v2):
	// the rows show the other party and the appointment.
	bookings map[string]BookingInfo
	stop     func()
	chat     roomChat
	room     string
	mounted  bool
}

// OnInit prepares the status the header and banner keep for their life.
func (p *TherapistPage) OnInit() { p.status = newLateStatus(p.Source) }

// OnPreRender sets the title on the server.
func (p *TherapistPage) OnPreRender(ctx goapp.Context) { p.setTitle(ctx) }

// OnMount marks the page live; it runs on the UI goroutine.
func (p *TherapistPage) OnMount(goapp.Context) { p.mounted = true }

// OnNav opens the session once, and the room the address names; it runs on
// the UI goroutine.
func (p *TherapistPage) OnNav(ctx goapp.Context) {
	p.setTitle(ctx)
	if p.Connect == nil {
		return
	}
	q := ctx.Page().URL().Query()
	p.room = q.Get("room")
	if !p.opening {
		p.opening = true
		scope := scopeOf("", q)
		p.Connect.Connect(scope, func(s *Session, err error) {
			ctx.Dispatch(func(ctx goapp.Context) { p.opened(ctx, s, err) })
		})
		return
	}
	p.openRoom(ctx)
}

// alerts are the session's background alerts, or nil before it opens.
func (p *TherapistPage) alerts() components.AlertsSource {
	if p.session == nil {
		return nil
	}
	return p.session.Alerts
}

func (p *TherapistPage) opened(ctx goapp.Context, s *Session, err error) {
	if err != nil {
		p.err = sessionError(err)
		return
	}
	p.session = s
	p.status.set(s.Status, s.Outbox, s.arrivals())
	if a, ok := s.Alerts.(*Alerts); ok {
		// A click on a notification opens its booking's chat.
		a.SetOpen(func(room string) {
			ctx.Dispatch(func(ctx goapp.Context) { ctx.Navigate("/therapist?room=" + url.QueryEscape(room)) })
		})
	}
	p.stop = s.Store.WatchRooms(func(rooms []RoomSummary) {
		ctx.Dispatch(func(goapp.Context) { p.rooms = rooms })
	})
	if s.Rooms != nil {
		stopWatch, stopRooms := p.stop, followRooms(s.Rooms, s.Store)
		p.stop = func() { stopWatch(); stopRooms() }
	}
	if s.Bookings != nil {
		stopBefore, stopBookings := p.stop, followBookings(s.Bookings, func(list []BookingInfo) {
			ctx.Dispatch(func(goapp.Context) {
				p.bookings = make(map[string]BookingInfo, len(list))
				for _, b := range list {
					p.bookings[b.Room] = b
				}
			})
		})
		p.stop = func() { stopBefore(); stopBookings() }
	}
	p.openRoom(ctx)
}

func (p *TherapistPage) openRoom(ctx goapp.Context) {
	if p.session == nil || p.room == "" || p.chat.room == p.room {
		return
	}
	p.chat.close()
	p.chat.show(ctx, p.session, p.room)
}

// OnDismount stops watching the inbox and the open room.
func (p *TherapistPage) OnDismount() {
	if p.stop != nil {
		p.stop()
		p.stop = nil
	}
	p.chat.close()
}

func (p *TherapistPage) setTitle(ctx goapp.Context) {
	ctx.Page().SetTitle("Inbox · tether")
}

// Render draws the page.
func (p *TherapistPage) Render() goapp.UI {
	title, subtitle := "Inbox", "Pick a booking to open its chat"
	if p.room != "" {
		title, subtitle = "Booking chat", "Booking "+p.room
	}
	return roomPage("therapist", p.room, p.mounted,
		goapp.Aside().Class("inbox").Aria("label", "Your booking chats").Body(
			goapp.H2().Class("inbox-title").Text("Bookings"),
			p.renderRooms(),
		),
		p.chat.section(p.status, title, subtitle, p.alerts(), "chat", "inbox-chat"),
	)
}

func (p *TherapistPage) renderRooms() goapp.UI {
	if p.err != "" {
		return goapp.P().Class("inbox-empty").DataSet("testid", "session-error").Text(p.err)
	}
	if len(p.rooms) == 0 {
		return goapp.P().Class("inbox-empty").DataSet("testid", "inbox-empty").Text("No booking chats yet.")
	}
	rooms := orderRooms(p.rooms, p.bookings, time.Now())
	return goapp.Ul().Class("inbox-rooms").DataSet("testid", "inbox").Body(
		goapp.Range(rooms).Slice(func(i int) goapp.UI {
			r := rooms[i]
			title, when := "Booking "+r.Room, ""
			if b, ok := p.bookings[r.Room]; ok {
				title, when = b.Other+" · "+b.Title, b.When()
				if b.Status == "cancelled" {
					when += " · cancelled"
				}
			}
			a := goapp.A().
				Class("inbox-room").
				DataSet("testid", "inbox-room").
				DataSet("room", r.Room).
				DataSet("unread", r.Unread).
				Href("/therapist?room=" + r.Room)
			if r.Room == p.room {
				a = a.Class("active").Aria("current", "page")
			}
			return goapp.Li().Body(a.Body(
				goapp.Span().Class("inbox-room-text").Body(
					goapp.Span().Class("inbox-room-title").DataSet("testid", "inbox-room-title").Text(title),
					goapp.If(when != "", func() goapp.UI {
						return goapp.Span().Class("inbox-room-when").DataSet("testid", "inbox-room-when").Text(when)
					}),
					goapp.Span().Class("inbox-room-preview").Text(r.Preview),
				),
				goapp.If(r.Unread > 0, func() goapp.UI {
					return goapp.Span().Class("unread").
						DataSet("testid", "unread").
						Aria("label", unreadLabel(r.Unread)).
						Text(r.Unread)
				}),
			))
		}),
	)
}

// orderRooms puts the inbox in order (contract v2): the bookings still to
// come first, the soonest first; then the others, the most recent
// activity first (the store's order, kept).
func orderRooms(rooms []RoomSummary, bookings map[string]BookingInfo, now time.Time) []RoomSummary {
	if len(bookings) == 0 {
		return rooms
	}
	out := slices.Clone(rooms)
	upcoming := func(r RoomSummary) (time.Time, bool) {
		b, ok := bookings[r.Room]
		if !ok || b.Status == "cancelled" || !b.Ends.After(now) {
			return time.Time{}, false
		}
		return b.Starts, true
	}
	slices.SortStableFunc(out, func(a, b RoomSummary) int {
		ta, ua := upcoming(a)
		tb, ub := upcoming(b)
		switch {
		case ua && ub:
			return ta.Compare(tb)
		case ua:
			return -1
		case ub:
			return 1
		}
		return 0
	})
	return out
}

func unreadLabel(n int) string {
	if n == 1 {
		return "1 unread message"
	}
	return strconv.Itoa(n) + " unread messages"
}
