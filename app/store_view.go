package app

import (
	"strings"
	"time"
	"unicode/utf8"

	"tether/components"
	"tether/conn"
	"tether/conn/wire"
)

// What the store hands the pages: values, copied for each watcher call, so a
// component may keep them.

// RoomView is a room as its chat shows it: the sent messages in seq order,
// then the user's pending and failed ones in the order they were sent.
type RoomView struct {
	Room string
	// Messages are in the form the chat's components.MessageList draws, so
	// that the page hands them over as they are.
	Messages []components.MessageView
	// HasOlder is true until a history page reached the room's first
	// message.
	HasOlder bool
	// LoadingOlder is true while a history page is being read.
	LoadingOlder bool
	// Err says why the room failed for good (the user is not a
	// participant: Forbidden).
	Err       string
	Forbidden bool
	// Cancelled says the booking was cancelled while the room was open:
	// the chat stays to read and takes no message.
	Cancelled bool
	// OlderErr says why the last history page could not be read (offline):
	// LoadOlder, or the connection coming back, tries again.
	OlderErr string
	// Unread counts the messages of others that arrived since the room was
	// last read (MarkRead, SetActive).
	Unread int
}

// RoomSummary is a room as the therapist's inbox lists it.
type RoomSummary struct {
	Room string
	// Preview is the start of the last message, on one line.
	Preview      string
	Unread       int
	LastActivity time.Time
}

func (r *chatRoom) view(mine func(wire.Message) bool, userName string) RoomView {
	v := RoomView{
		Room:         r.name,
		Messages:     make([]components.MessageView, 0, len(r.msgs)+len(r.own)),
		HasOlder:     r.hasOlder(),
		LoadingOlder: r.loading,
		Err:          r.err,
		Forbidden:    r.forbidden,
		Cancelled:    r.cancelled,
		Unread:       r.unread(mine),
	}
	if v.Err == "" {
		v.OlderErr = r.loadErr
	}
	firstNew := true
	for _, msg := range r.msgs {
		item := sentItem(msg, mine(msg))
		item.New = r.newSet && msg.Seq > r.newAfter && !item.Mine
		// The first new message carries the "New messages" line.
		item.FirstNew = item.New && firstNew
		firstNew = firstNew && !item.New
		v.Messages = append(v.Messages, item)
	}
	for _, o := range r.own {
		v.Messages = append(v.Messages, ownItem(o.entry, userName))
	}
	return v
}

// sentItem is a message the server stored; mine tells whether the user sent
// it.
func sentItem(msg wire.Message, mine bool) components.MessageView {
	return components.MessageView{
		ClientID:   msg.ClientID,
		Seq:        msg.Seq,
		State:      components.MessageSent,
		Mine:       mine,
		SenderName: msg.Sender.Name,
		Body:       msg.Body,
		SentAt:     time.UnixMilli(msg.SentAt),
	}
}

// ownItem is one of the user's messages that the server has not stored yet,
// or whose stored copy has not come back (it has no seq): pending, or failed
// with the reason once the outbox gave up on it.
func ownItem(e conn.OutboxEntry, userName string) components.MessageView {
	item := components.MessageView{
		ClientID:   e.ClientID,
		State:      components.MessagePending,
		Mine:       true,
		SenderName: userName,
		Body:       e.Body,
		SentAt:     e.Created,
	}
	if e.Failed {
		item.State, item.Error = components.MessageFailed, e.LastError
	}
	return item
}

func (r *chatRoom) summary(mine func(wire.Message) bool) RoomSummary {
	sum := RoomSummary{Room: r.name, Unread: r.unread(mine)}
	switch {
	case len(r.own) > 0:
		last := r.own[len(r.own)-1].entry
		sum.Preview, sum.LastActivity = preview(last.Body), last.Created
	case len(r.msgs) > 0:
		last := r.msgs[len(r.msgs)-1]
		sum.Preview, sum.LastActivity = preview(last.Body), time.UnixMilli(last.SentAt)
	}
	return sum
}

// previewChars bounds RoomSummary.Preview.
const previewChars = 80

// preview is body on one line, cut to previewChars characters.
func preview(body string) string {
	line := strings.Join(strings.Fields(body), " ")
	if utf8.RuneCountInString(line) <= previewChars {
		return line
	}
	runes := []rune(line)
	return strings.TrimSpace(string(runes[:previewChars-1])) + "…"
}
