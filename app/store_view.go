package app

import (
	"strings"
	"time"
	"unicode/utf8"

	"tether/conn"
	"tether/conn/wire"
)

// What the store hands the pages: values, copied for each watcher call, so a
// component may keep them.

// The states of a message in a chat, as the DOM contract's data-state.
const (
	// MessagePending is the user's message that the server has not stored
	// yet, or whose stored copy has not come back yet (it has no seq).
	MessagePending = "pending"
	// MessageSent is a message the server stored: it has its seq.
	MessageSent = "sent"
	// MessageFailed is the user's message that the outbox gave up on; Retry
	// sends it again, Discard drops it.
	MessageFailed = "failed"
)

// MessageItem is one message as a chat shows it. Its fields match
// components.MessageView, so a page converts one into the other as is.
type MessageItem struct {
	// ClientID is the id the sender's client gave the message; a message
	// of someone else's may have none.
	ClientID string
	// Seq is the room's seq of a sent message, 0 until then.
	Seq int64
	// State is MessagePending, MessageSent or MessageFailed.
	State string
	// Mine is true for the user's own messages.
	Mine       bool
	SenderName string
	Body       string
	SentAt     time.Time
	// Error says why a failed message failed.
	Error string
	// New marks a message of others that came in during an outage, until
	// the user writes in the room with the link back.
	New bool
}

// RoomView is a room as its chat shows it: the sent messages in seq order,
// then the user's pending and failed ones in the order they were sent.
type RoomView struct {
	Room     string
	Messages []MessageItem
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
		Messages:     make([]MessageItem, 0, len(r.msgs)+len(r.own)),
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
	for _, msg := range r.msgs {
		item := sentItem(msg, mine(msg))
		item.New = r.newSet && msg.Seq > r.newAfter && !item.Mine
		v.Messages = append(v.Messages, item)
	}
	for _, o := range r.own {
		v.Messages = append(v.Messages, ownItem(o.entry, userName))
	}
	return v
}

func sentItem(msg wire.Message, mine bool) MessageItem {
	return MessageItem{
		ClientID:   msg.ClientID,
		Seq:        msg.Seq,
		State:      MessageSent,
		Mine:       mine,
		SenderName: msg.Sender.Name,
		Body:       msg.Body,
		SentAt:     time.UnixMilli(msg.SentAt),
	}
}

func ownItem(e conn.OutboxEntry, userName string) MessageItem {
	item := MessageItem{
		ClientID:   e.ClientID,
		State:      MessagePending,
		Mine:       true,
		SenderName: userName,
		Body:       e.Body,
		SentAt:     e.Created,
	}
	if e.Failed {
		item.State, item.Error = MessageFailed, e.LastError
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
