package wire

import (
	"math"
	"net/url"
	"strconv"
	"time"
)

// The JSON bodies of the HTTP fallback.

// MessagesPage answers GET /api/rooms/{room}/messages: the messages in seq
// order and the room's head when the page was read.
type MessagesPage struct {
	Messages []Message `json:"messages"`
	Head     int64     `json:"head"`
}

// PostMessage is the body of POST /api/rooms/{room}/messages.
type PostMessage struct {
	ClientID string `json:"client_id"`
	Body     string `json:"body"`
}

// Posted answers POST /api/rooms/{room}/messages: 201 the first time, 200
// with the same body on a repeat of the client_id.
type Posted struct {
	ClientID string `json:"client_id"`
	Seq      int64  `json:"seq"`
	SentAt   int64  `json:"sent_at"`
}

// ErrorBody is the body of every HTTP error: the server writes it, and the
// clients read it into a conn.HTTPError.
type ErrorBody struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

// DevToken answers GET /api/dev/token.
type DevToken struct {
	Token string `json:"token"`
}

// Bounds of GET /api/rooms.
const (
	// DefaultRoomsLimit is how many rooms GET /api/rooms lists when the
	// request names no limit.
	DefaultRoomsLimit = 100
	// MaxRoomsLimit bounds the limit of GET /api/rooms.
	MaxRoomsLimit = 500
)

// RoomsPage answers GET /api/rooms: the rooms the token may see that hold
// at least one message, the most recently active first.
type RoomsPage struct {
	Rooms []RoomInfo `json:"rooms"`
}

// RoomInfo is one room of a RoomsPage: its head and its last message, so
// an inbox shows each room without reading its history.
type RoomInfo struct {
	Room string `json:"room"`
	Head int64  `json:"head"`
	// Last is the message with seq Head; null only if a store cannot say.
	Last *Message `json:"last"`
}

// BookingSummary is one booking as its participant sees it (contract v2,
// GET /api/me): times in RFC 3339, the other party of the chat.
type BookingSummary struct {
	Room     string `json:"room"`
	Title    string `json:"title"`
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
	Place    string `json:"place"`
	Status   string `json:"status"`
	Other    User   `json:"other"`
}

// Me is the body of GET /api/me: the token's user and their bookings, the
// soonest first.
type Me struct {
	User     User             `json:"user"`
	Bookings []BookingSummary `json:"bookings"`
}

// MessagesPath is /api/rooms/{room}/messages: POST sends a message to room,
// GET reads its messages (PollPath and HistoryPath add the query).
func MessagesPath(room string) string {
	return "/api/rooms/" + url.PathEscape(room) + "/messages"
}

// PollPath asks for the messages of room after seq since. A wait above 0
// makes it a long poll, in whole seconds rounded up; limit 0 leaves the
// page's size to the server.
func PollPath(room string, since int64, wait time.Duration, limit int) string {
	q := url.Values{"since": {strconv.FormatInt(since, 10)}}
	if wait > 0 {
		q.Set("wait", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return MessagesPath(room) + "?" + q.Encode()
}

// HistoryPath asks for up to limit messages of room before seq before, the
// newest of them; before 0 (or less) reads from the newest message, and
// limit 0 leaves the page's size to the server.
func HistoryPath(room string, before int64, limit int) string {
	if before <= 0 {
		before = math.MaxInt64
	}
	q := url.Values{"before": {strconv.FormatInt(before, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return MessagesPath(room) + "?" + q.Encode()
}
