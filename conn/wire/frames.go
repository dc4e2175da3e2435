package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Frame types.
const (
	TypeHello       = "hello"
	TypeSubscribe   = "subscribe"
	TypeUnsubscribe = "unsubscribe"
	TypeSend        = "send"
	TypePing        = "ping"
	TypeWelcome     = "welcome"
	TypeSubscribed  = "subscribed"
	TypeMessage     = "message"
	TypeAck         = "ack"
	TypePong        = "pong"
	TypeError       = "error"
	// Contract v2: a fresh token on the live socket, and its answer.
	TypeAuth   = "auth"
	TypeAuthed = "authed"
)

// Frame is one protocol v1 frame. Every frame type is a pointer to one of
// the structs below.
type Frame interface {
	// FrameType is the frame's "type" field.
	FrameType() string
	// validate checks required fields and ranges after decoding.
	validate() error
}

// User is who sent a message, or who a session belongs to.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Hello opens a session: the token, and the last seq the client holds of
// each room it will resume.
type Hello struct {
	Token  string           `json:"token"`
	Resume map[string]int64 `json:"resume,omitempty"`
}

// Subscribe asks for every message of Room after seq Since, then live ones.
type Subscribe struct {
	Room  string `json:"room"`
	Since int64  `json:"since"`
}

// Unsubscribe stops the messages of Room.
type Unsubscribe struct {
	Room string `json:"room"`
}

// Send posts Body to Room. ClientID makes it idempotent: a repeat gets the
// same ack and never a second message.
type Send struct {
	Room     string `json:"room"`
	ClientID string `json:"client_id"`
	Body     string `json:"body"`
}

// Ping asks for a pong with the same ID; its round trip measures latency.
type Ping struct {
	ID int64 `json:"id"`
}

// Auth renews the session's token on the live socket (contract v2): the
// token must be the same user's; the socket then lives until its expiry.
type Auth struct {
	Token string `json:"token"`
}

// Authed answers Auth: the session now ends at ExpiresAt (unix
// milliseconds) unless renewed again.
type Authed struct {
	ExpiresAt int64 `json:"expires_at"`
}

// Welcome answers Hello.
type Welcome struct {
	Session     string `json:"session"`
	HeartbeatMS int64  `json:"heartbeat_ms"`
	ServerTime  int64  `json:"server_time"`
	User        User   `json:"user"`
}

// Subscribed answers Subscribe. Head is the room's last seq when the replay
// was read; Recovered is false when more than ReplayLimit messages were
// missed: the replay then stops after ReplayLimit messages and the client
// pages the rest (up to Head) over HTTP.
type Subscribed struct {
	Room      string `json:"room"`
	Head      int64  `json:"head"`
	Recovered bool   `json:"recovered"`
}

// Message is one stored chat message.
type Message struct {
	Room     string `json:"room"`
	Seq      int64  `json:"seq"`
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	Sender   User   `json:"sender"`
	Body     string `json:"body"`
	SentAt   int64  `json:"sent_at"` // unix milliseconds
}

// Ack confirms that the message sent with ClientID is stored as Seq.
type Ack struct {
	Room     string `json:"room"`
	ClientID string `json:"client_id"`
	Seq      int64  `json:"seq"`
	SentAt   int64  `json:"sent_at"`
}

// Pong answers Ping.
type Pong struct {
	ID         int64 `json:"id"`
	ServerTime int64 `json:"server_time"`
}

// ErrorFrame reports a refused frame; the connection goes on. Ref names what
// it refers to: the room, or the client_id of a send.
type ErrorFrame struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	Ref          string `json:"ref,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
}

func (*Hello) FrameType() string       { return TypeHello }
func (*Subscribe) FrameType() string   { return TypeSubscribe }
func (*Unsubscribe) FrameType() string { return TypeUnsubscribe }
func (*Send) FrameType() string        { return TypeSend }
func (*Ping) FrameType() string        { return TypePing }
func (*Welcome) FrameType() string     { return TypeWelcome }
func (*Subscribed) FrameType() string  { return TypeSubscribed }
func (*Message) FrameType() string     { return TypeMessage }
func (*Ack) FrameType() string         { return TypeAck }
func (*Pong) FrameType() string        { return TypePong }
func (*ErrorFrame) FrameType() string  { return TypeError }
func (*Auth) FrameType() string        { return TypeAuth }
func (*Authed) FrameType() string      { return TypeAuthed }

// DecodeError says why a frame was refused; Code is the error code to send
// back (CodeBadFrame, CodeTooLarge or CodeInvalidBody).
type DecodeError struct {
	Code   string
	Reason string
	// Ref is the room or client_id the frame named, when it could be read.
	Ref string
}

func (e *DecodeError) Error() string { return e.Code + ": " + e.Reason }

func badFrame(format string, args ...any) error {
	return &DecodeError{Code: CodeBadFrame, Reason: fmt.Sprintf(format, args...)}
}

// Decode reads one frame. Unknown fields are ignored; anything else wrong is
// a *DecodeError.
func Decode(data []byte) (Frame, error) {
	if len(data) > MaxFrameBytes {
		return nil, &DecodeError{Code: CodeTooLarge, Reason: fmt.Sprintf("frame of %d bytes is over %d", len(data), MaxFrameBytes)}
	}
	if !utf8.Valid(data) {
		return nil, badFrame("frame is not valid UTF-8")
	}
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, badFrame("frame is not a JSON object: %s", jsonReason(err))
	}
	if head.Type == nil {
		return nil, badFrame("frame has no type")
	}
	f := newFrame(*head.Type)
	if f == nil {
		return nil, badFrame("unknown frame type %q", *head.Type)
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, badFrame("%s frame: %s", *head.Type, jsonReason(err))
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

func newFrame(typ string) Frame {
	switch typ {
	case TypeHello:
		return &Hello{}
	case TypeSubscribe:
		return &Subscribe{}
	case TypeUnsubscribe:
		return &Unsubscribe{}
	case TypeSend:
		return &Send{}
	case TypePing:
		return &Ping{}
	case TypeWelcome:
		return &Welcome{}
	case TypeSubscribed:
		return &Subscribed{}
	case TypeMessage:
		return &Message{}
	case TypeAck:
		return &Ack{}
	case TypePong:
		return &Pong{}
	case TypeError:
		return &ErrorFrame{}
	case TypeAuth:
		return &Auth{}
	case TypeAuthed:
		return &Authed{}
	}
	return nil
}

// jsonReason keeps the decoder's words but drops Go type names, which mean
// nothing to a client.
func jsonReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "frame is not a JSON object"
		}
		return fmt.Sprintf("field %q has the wrong type (%s)", typeErr.Field, typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)
	}
	return err.Error()
}

// Encode writes a frame as JSON with its "type" field first.
func Encode(f Frame) ([]byte, error) {
	if f == nil {
		return nil, errors.New("failed to encode frame: frame is nil")
	}
	body, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("failed to encode %s frame: %w", f.FrameType(), err)
	}
	// A nil *Ping (or any nil frame pointer) marshals to "null", which
	// spliced after the type field would be broken JSON.
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("failed to encode %s frame: frame is nil", f.FrameType())
	}
	var b bytes.Buffer
	b.Grow(len(body) + 24)
	b.WriteString(`{"type":"`)
	b.WriteString(f.FrameType())
	b.WriteByte('"')
	if len(body) > 2 { // body is "{...}"; "{}" has no fields to add
		b.WriteByte(',')
		b.Write(body[1:])
	} else {
		b.WriteByte('}')
	}
	return b.Bytes(), nil
}

func requireRoom(room string) error {
	if !ValidRoom(room) {
		return &DecodeError{Code: CodeBadFrame, Reason: fmt.Sprintf("invalid room %q", truncate(room)), Ref: ""}
	}
	return nil
}

func requireClientID(id, room string) error {
	if !ValidClientID(id) {
		return &DecodeError{Code: CodeBadFrame, Reason: fmt.Sprintf("invalid client_id %q", truncate(id)), Ref: room}
	}
	return nil
}

// ValidateBody checks a message body: 1 to MaxBodyChars characters, not only
// white space.
func ValidateBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return errors.New("body is empty")
	}
	if n := utf8.RuneCountInString(body); n > MaxBodyChars {
		return fmt.Errorf("body of %d characters is over %d", n, MaxBodyChars)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (h *Hello) validate() error {
	if err := requireField(h.Token, "hello has no token"); err != nil {
		return err
	}
	for room, seq := range h.Resume {
		if err := requireRoom(room); err != nil {
			return err
		}
		if seq < 0 {
			return badFrame("resume of %s is negative", room)
		}
	}
	return nil
}

func (s *Subscribe) validate() error {
	if err := requireRoom(s.Room); err != nil {
		return err
	}
	if s.Since < 0 {
		return &DecodeError{Code: CodeBadFrame, Reason: "since is negative", Ref: s.Room}
	}
	return nil
}

func (u *Unsubscribe) validate() error { return requireRoom(u.Room) }

func (s *Send) validate() error {
	if err := requireRoom(s.Room); err != nil {
		return err
	}
	if err := requireClientID(s.ClientID, s.Room); err != nil {
		return err
	}
	if err := ValidateBody(s.Body); err != nil {
		return &DecodeError{Code: CodeInvalidBody, Reason: err.Error(), Ref: s.ClientID}
	}
	return nil
}

func (*Ping) validate() error { return nil }

func (w *Welcome) validate() error { return requireField(w.Session, "welcome has no session") }

func (s *Subscribed) validate() error { return requireRoom(s.Room) }

func (m *Message) validate() error { return requireRoomSeq("message", m.Room, m.Seq) }

func (a *Ack) validate() error {
	if err := requireRoomSeq("ack", a.Room, a.Seq); err != nil {
		return err
	}
	return requireClientID(a.ClientID, a.Room)
}

// requireRoomSeq checks the room and the positive seq of a frame that
// carries a stored message.
func requireRoomSeq(frame, room string, seq int64) error {
	if err := requireRoom(room); err != nil {
		return err
	}
	if seq <= 0 {
		return badFrame("%s seq must be positive", frame)
	}
	return nil
}

func (*Pong) validate() error { return nil }

func (a *Auth) validate() error { return requireField(a.Token, "auth has no token") }

func (*Authed) validate() error { return nil }

func (e *ErrorFrame) validate() error { return requireField(e.Code, "error frame has no code") }

// requireField is the bad frame error missing when a required field is
// empty.
func requireField(v, missing string) error {
	if v == "" {
		return badFrame("%s", missing)
	}
	return nil
}
