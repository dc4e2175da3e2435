package app

import (
	"strings"

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

	// Source feeds the connection indicator.
	Source components.StatusSource

	room    string
	mounted bool
}

// OnPreRender reads the room on the server.
func (p *ChatPage) OnPreRender(ctx goapp.Context) { p.readRoom(ctx) }

// OnNav reads the room in the browser; it runs on the UI goroutine.
func (p *ChatPage) OnNav(ctx goapp.Context) { p.readRoom(ctx) }

// OnMount marks the page live; it runs on the UI goroutine.
func (p *ChatPage) OnMount(goapp.Context) { p.mounted = true }

func (p *ChatPage) readRoom(ctx goapp.Context) {
	p.room = strings.TrimPrefix(ctx.Page().URL().Path, "/chat/")
	ctx.Page().SetTitle("Booking chat · tether")
}

// Render draws the page.
func (p *ChatPage) Render() goapp.UI {
	return goapp.Main().
		Class("page", "chat").
		DataSet("testid", "chat-page").
		DataSet("room", p.room).
		DataSet(pageReady, p.mounted).
		Body(
			&components.ChatHeader{
				Title:    "Booking chat",
				Subtitle: "Booking " + p.room,
				Source:   p.Source,
			},
			chatBody(),
		)
}

// TherapistPage is "/therapist": the inbox of a therapist's booking rooms
// with the open chat beside it.
type TherapistPage struct {
	goapp.Compo

	// Source feeds the connection indicator.
	Source components.StatusSource

	mounted bool
}

// OnPreRender sets the title on the server.
func (p *TherapistPage) OnPreRender(ctx goapp.Context) { p.setTitle(ctx) }

// OnNav sets the title in the browser; it runs on the UI goroutine.
func (p *TherapistPage) OnNav(ctx goapp.Context) { p.setTitle(ctx) }

// OnMount marks the page live; it runs on the UI goroutine.
func (p *TherapistPage) OnMount(goapp.Context) { p.mounted = true }

func (p *TherapistPage) setTitle(ctx goapp.Context) {
	ctx.Page().SetTitle("Inbox · tether")
}

// Render draws the page.
func (p *TherapistPage) Render() goapp.UI {
	return goapp.Main().
		Class("page", "therapist").
		DataSet("testid", "therapist-page").
		DataSet(pageReady, p.mounted).
		Body(
			goapp.Aside().Class("inbox").Aria("label", "Your booking chats").Body(
				goapp.H2().Class("inbox-title").Text("Bookings"),
				goapp.P().Class("inbox-empty").Text("No booking chats yet."),
			),
			goapp.Section().Class("inbox-chat").Body(
				&components.ChatHeader{
					Title:    "Inbox",
					Subtitle: "Pick a booking to open its chat",
					Source:   p.Source,
				},
				chatBody(),
			),
		)
}

// chatBody is the message area of a chat: empty in this shell.
func chatBody() goapp.UI {
	return goapp.Section().Class("chat-body").Aria("label", "Messages").Body(
		goapp.P().Class("chat-empty").Text("No messages yet."),
	)
}
