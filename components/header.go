package components

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// ChatHeader is the top bar of a chat: who you talk with, and the
// connection indicator, so the state of the link is always in sight.
type ChatHeader struct {
	app.Compo

	// Title names the other side of the booking.
	Title string
	// Subtitle says which booking this chat belongs to.
	Subtitle string
	// Source feeds the connection indicator.
	Source StatusSource
}

// Render draws the header.
func (h *ChatHeader) Render() app.UI {
	return app.Header().
		Class("chat-header").
		DataSet("testid", "chat-header").
		Body(
			app.Div().Class("chat-header-text").Body(
				app.H1().Class("chat-title").Text(h.Title),
				app.If(h.Subtitle != "", func() app.UI {
					return app.P().Class("chat-subtitle").Text(h.Subtitle)
				}),
			),
			&ConnectionStatusIndicator{Source: h.Source},
		)
}
