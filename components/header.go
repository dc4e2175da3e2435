package components

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ChatHeader is the top bar of a chat: who you talk with, and the
// connection indicator, so the state of the link is always in sight.
type ChatHeader struct {
	app.Compo

	// Title names the other side of the booking.
	Title string
	// Subtitle says which booking this chat belongs to.
	Subtitle string
	// Booking, when known, replaces both with the booking's details.
	Booking *Booking
	// Source feeds the connection indicator.
	Source StatusSource
	// Alerts, when set, puts the background alerts' toggle in the header.
	Alerts AlertsSource
}

// Booking is what a chat header says of its booking (contract v2).
type Booking struct {
	// Other is the other party's name: the therapist or place for the
	// customer, the customer for the provider.
	Other  string
	Title  string
	Starts time.Time
	Ends   time.Time
	Place  string
}

// When is the appointment in the viewer's time zone (the browser's, which
// is Go's local zone in the browser), e.g. "Tue 3 Mar, 10:00–11:00".
func (b *Booking) When() string {
	start, end := b.Starts.Local(), b.Ends.Local()
	s := start.Format("Mon 2 Jan 2006, 15:04")
	if start.Year() == time.Now().Year() {
		s = start.Format("Mon 2 Jan, 15:04")
	}
	if end.YearDay() == start.YearDay() && end.Year() == start.Year() {
		return s + "–" + end.Format("15:04")
	}
	return s + " – " + end.Format("Mon 2 Jan, 15:04")
}

// Render draws the header.
func (h *ChatHeader) Render() app.UI {
	return app.Header().
		Class("chat-header").
		DataSet("testid", "chat-header").
		Body(
			app.Div().Class("chat-header-text").Body(
				app.If(h.Booking != nil, func() app.UI {
					b := h.Booking
					return app.Div().Body(
						app.H1().Class("chat-title").DataSet("testid", "other-party").Text(b.Other),
						app.P().Class("chat-subtitle").Body(
							app.Span().DataSet("testid", "booking-title").Text(b.Title),
							app.Text(" · "),
							app.Time().DataSet("testid", "booking-when").DateTime(b.Starts.UTC().Format(time.RFC3339)).Text(b.When()),
							app.If(b.Place != "", func() app.UI {
								return app.Span().Body(app.Text(" · "), app.Span().DataSet("testid", "booking-place").Text(b.Place))
							}),
						),
					)
				}).Else(func() app.UI {
					return app.Div().Body(
						app.H1().Class("chat-title").Text(h.Title),
						app.If(h.Subtitle != "", func() app.UI {
							return app.P().Class("chat-subtitle").Text(h.Subtitle)
						}),
					)
				}),
			),
			app.If(h.Alerts != nil, func() app.UI {
				return &NotificationsToggle{Source: h.Alerts}
			}),
			&ConnectionStatusIndicator{Source: h.Source},
		)
}
