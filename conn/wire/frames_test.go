package wire_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
)

// everyFrame is one filled-in frame of each type, every field set.
func everyFrame() []wire.Frame {
	user := wire.User{ID: "u1", Name: "Ada Lovelace", Role: wire.RoleCustomer}
	return []wire.Frame{
		&wire.Hello{Token: "tok.en.sig", Resume: map[string]int64{"r1": 4, "room-2": 0}},
		&wire.Subscribe{Room: "r1", Since: 12},
		&wire.Unsubscribe{Room: "r1"},
		&wire.Send{Room: "r1", ClientID: "6f1c2a8e-3b1d-4c55-9a0e-1f2d3c4b5a69", Body: "hello 👋 <b>&</b>"},
		&wire.Ping{ID: 99},
		&wire.Welcome{Session: "s-1", HeartbeatMS: 25000, ServerTime: 1700000000000, User: user},
		&wire.Subscribed{Room: "r1", Head: 7, Recovered: true},
		&wire.Message{Room: "r1", Seq: 3, ID: "m3", ClientID: "c1", Sender: user, Body: "line one\nline two", SentAt: 1700000000000},
		&wire.Ack{Room: "r1", ClientID: "c1", Seq: 3, SentAt: 1700000000000},
		&wire.Pong{ID: 99, ServerTime: 1700000000001},
		&wire.ErrorFrame{Code: wire.CodeRateLimited, Message: "slow down", Ref: "c1", RetryAfterMS: 1500},
	}
}

func TestEveryFrameTypeSurvivesAnEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	frames := everyFrame()
	seen := map[string]bool{}
	for _, f := range frames {
		seen[f.FrameType()] = true
	}
	require.Len(t, seen, 11, "the table covers all eleven frame types")

	for _, f := range frames {
		t.Run(f.FrameType()+" decodes to an equal frame", func(t *testing.T) {
			t.Parallel()
			data, err := wire.Encode(f)
			require.NoError(t, err)
			got, err := wire.Decode(data)
			require.NoError(t, err)
			assert.Equal(t, f, got)
			assert.Equal(t, f.FrameType(), got.FrameType())
		})
	}
}

func TestEncodeWritesValidJSONWithTheTypeFieldFirst(t *testing.T) {
	t.Parallel()
	frames := append(everyFrame(),
		&wire.Ping{},       // every field at its zero value
		&wire.Hello{},      // omitempty resume
		&wire.ErrorFrame{}, // omitempty ref and retry_after_ms
	)
	for _, f := range frames {
		t.Run(fmt.Sprintf("a %s frame %+v", f.FrameType(), f), func(t *testing.T) {
			t.Parallel()
			data, err := wire.Encode(f)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(data), `{"type":"`+f.FrameType()+`"`), "got %s", data)
			assert.True(t, json.Valid(data), "got %s", data)

			var fields map[string]any
			require.NoError(t, json.Unmarshal(data, &fields))
			assert.Equal(t, f.FrameType(), fields["type"])
		})
	}
}

// encodeString is Encode's frame as a string, to compare with the design's.
func encodeString(f wire.Frame) (string, error) {
	data, err := wire.Encode(f)
	return string(data), err
}

func TestEncodeWritesTheExactJSONOfTheDesign(t *testing.T) {
	t.Parallel()
	assertEachNoError(t, encodeString, []valueCase[wire.Frame, string]{
		{
			"an ack carries room, client_id, seq and sent_at",
			&wire.Ack{Room: "r1", ClientID: "c1", Seq: 3, SentAt: 1700000000000},
			`{"type":"ack","room":"r1","client_id":"c1","seq":3,"sent_at":1700000000000}`,
		},
		{
			"a recovered subscribed says recovered true",
			&wire.Subscribed{Room: "r1", Head: 7, Recovered: true},
			`{"type":"subscribed","room":"r1","head":7,"recovered":true}`,
		},
		{
			"an unrecovered subscribed keeps recovered false instead of omitting it",
			&wire.Subscribed{Room: "r1", Head: 700, Recovered: false},
			`{"type":"subscribed","room":"r1","head":700,"recovered":false}`,
		},
		{
			"a hello without rooms to resume omits resume",
			&wire.Hello{Token: "t"},
			`{"type":"hello","token":"t"}`,
		},
		{
			"a hello with rooms to resume lists them",
			&wire.Hello{Token: "t", Resume: map[string]int64{"r1": 4}},
			`{"type":"hello","token":"t","resume":{"r1":4}}`,
		},
		{
			"a subscribe from the start keeps since 0",
			&wire.Subscribe{Room: "r1"},
			`{"type":"subscribe","room":"r1","since":0}`,
		},
		{
			"a send carries room, client_id and body",
			&wire.Send{Room: "r1", ClientID: "c1", Body: "hi"},
			`{"type":"send","room":"r1","client_id":"c1","body":"hi"}`,
		},
		{
			"a ping with id 0 keeps its id",
			&wire.Ping{},
			`{"type":"ping","id":0}`,
		},
		{
			"an error without ref or retry omits both",
			&wire.ErrorFrame{Code: wire.CodeBadFrame, Message: "unknown frame type"},
			`{"type":"error","code":"bad_frame","message":"unknown frame type"}`,
		},
		{
			"a rate limited error carries ref and retry_after_ms",
			&wire.ErrorFrame{Code: wire.CodeRateLimited, Message: "slow down", Ref: "c1", RetryAfterMS: 1500},
			`{"type":"error","code":"rate_limited","message":"slow down","ref":"c1","retry_after_ms":1500}`,
		},
		{
			"a message nests its sender",
			&wire.Message{Room: "r1", Seq: 1, ID: "m1", ClientID: "c1", Sender: wire.User{ID: "u1", Name: "Ada", Role: wire.RolePlace}, Body: "hi", SentAt: 5},
			`{"type":"message","room":"r1","seq":1,"id":"m1","client_id":"c1","sender":{"id":"u1","name":"Ada","role":"place"},"body":"hi","sent_at":5}`,
		},
	})
}

func TestTheTranscriptOfTheDesignDecodesAndReencodesByteForByte(t *testing.T) {
	t.Parallel()
	// The example session of docs/PROTOCOL.md, line by line.
	tests := []struct {
		name  string
		frame string
	}{
		{"the client's hello resumes a room", `{"type":"hello","token":"eyJhbGciOiJIUzI1NiIs…","resume":{"booking-42":7}}`},
		{"the server's welcome", `{"type":"welcome","session":"9f1c…","heartbeat_ms":15000,"server_time":1764100000000,"user":{"id":"casey","name":"Casey","role":"customer"}}`},
		{"the replay is recovered", `{"type":"subscribed","room":"booking-42","head":8,"recovered":true}`},
		{"a replayed message", `{"type":"message","room":"booking-42","seq":8,"id":"4b0e…","client_id":"t-0007","sender":{"id":"taylor","name":"Taylor","role":"therapist"},"body":"See you at 3","sent_at":1764099990000}`},
		{"the client sends", `{"type":"send","room":"booking-42","client_id":"c-0001","body":"Great, thanks!"}`},
		{"the message comes back to everyone", `{"type":"message","room":"booking-42","seq":9,"id":"a71d…","client_id":"c-0001","sender":{"id":"casey","name":"Casey","role":"customer"},"body":"Great, thanks!","sent_at":1764100001000}`},
		{"the sender gets an ack", `{"type":"ack","room":"booking-42","client_id":"c-0001","seq":9,"sent_at":1764100001000}`},
		{"the client pings", `{"type":"ping","id":1}`},
		{"the server pongs", `{"type":"pong","id":1,"server_time":1764100001500}`},
		{"the client subscribes to another room", `{"type":"subscribe","room":"booking-99","since":0}`},
		{"that room is forbidden", `{"type":"error","code":"forbidden","message":"you are not a participant of booking-99","ref":"booking-99"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := wire.Decode([]byte(tt.frame))
			require.NoError(t, err)
			got, err := wire.Encode(f)
			require.NoError(t, err)
			assert.Equal(t, tt.frame, string(got))
		})
	}
}

func TestEncodeRefusesANilFrameInsteadOfWritingBrokenJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame wire.Frame
	}{
		{"a nil interface", nil},
		{"a nil ping", (*wire.Ping)(nil)},
		{"a nil send", (*wire.Send)(nil)},
		{"a nil hello", (*wire.Hello)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []byte
			var err error
			require.NotPanics(t, func() { got, err = wire.Encode(tt.frame) })
			require.Error(t, err)
			assert.Nil(t, got)
		})
	}
}

// sendJSON is a send frame with body encoded by encoding/json.
func sendJSON(room, clientID, body string) string {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"type":"send","room":%q,"client_id":%q,"body":%s}`, room, clientID, b)
}

func TestDecodeAcceptsAndRefusesFrames(t *testing.T) {
	t.Parallel()
	emoji4000 := strings.Repeat("😀", wire.MaxBodyChars)
	emoji4001 := emoji4000 + "😀"
	room64 := "r" + strings.Repeat("x", 63)
	room65 := room64 + "x"
	client64 := strings.Repeat("c", wire.MaxClientIDLen)
	client65 := client64 + "c"

	tests := []struct {
		name string
		in   string
		want wire.Frame // the decoded frame; nil when Decode must refuse
		code string     // the DecodeError code when refused
		ref  string     // the DecodeError ref when refused
	}{
		// Not a JSON object.
		{name: "text that is not JSON is a bad frame", in: `hello`, code: wire.CodeBadFrame},
		{name: "empty input is a bad frame", in: ``, code: wire.CodeBadFrame},
		{name: "truncated JSON is a bad frame", in: `{"type":"ping"`, code: wire.CodeBadFrame},
		{name: "trailing data after the object is a bad frame", in: `{"type":"ping"} {}`, code: wire.CodeBadFrame},
		{name: "a JSON array is a bad frame", in: `[{"type":"ping"}]`, code: wire.CodeBadFrame},
		{name: "a JSON string is a bad frame", in: `"ping"`, code: wire.CodeBadFrame},
		{name: "a JSON number is a bad frame", in: `42`, code: wire.CodeBadFrame},
		{name: "JSON null is a bad frame", in: `null`, code: wire.CodeBadFrame},
		{name: "an empty object is a bad frame", in: `{}`, code: wire.CodeBadFrame},
		{name: "invalid UTF-8 bytes are a bad frame", in: "{\"type\":\"send\",\"room\":\"r1\",\"client_id\":\"c1\",\"body\":\"\xff\xfe\"}", code: wire.CodeBadFrame},

		// The type field.
		{name: "a frame without type is a bad frame", in: `{"room":"r1","since":0}`, code: wire.CodeBadFrame},
		{name: "a null type is a bad frame", in: `{"type":null,"id":1}`, code: wire.CodeBadFrame},
		{name: "a numeric type is a bad frame", in: `{"type":1}`, code: wire.CodeBadFrame},
		{name: "an object type is a bad frame", in: `{"type":{"name":"ping"}}`, code: wire.CodeBadFrame},
		{name: "an unknown type is a bad frame", in: `{"type":"shout","room":"r1"}`, code: wire.CodeBadFrame},
		{name: "an empty type is a bad frame", in: `{"type":""}`, code: wire.CodeBadFrame},
		{name: "a type in capitals is unknown", in: `{"type":"PING","id":1}`, code: wire.CodeBadFrame},

		// Unknown fields are tolerated; a newer peer may add some.
		{name: "unknown extra fields are accepted", in: `{"type":"ping","id":5,"trace":{"a":[1,2]},"v":2}`, want: &wire.Ping{ID: 5}},
		{name: "a ping without id is a ping with id 0", in: `{"type":"ping"}`, want: &wire.Ping{}},
		{name: "white space around the object is accepted", in: " \n\t{\"type\":\"ping\",\"id\":1}\r\n ", want: &wire.Ping{ID: 1}},

		// subscribe.
		{name: "a subscribe is accepted", in: `{"type":"subscribe","room":"r1","since":12}`, want: &wire.Subscribe{Room: "r1", Since: 12}},
		{name: "a subscribe without since starts from 0", in: `{"type":"subscribe","room":"r1"}`, want: &wire.Subscribe{Room: "r1"}},
		{name: "since as a string is a bad frame", in: `{"type":"subscribe","room":"r1","since":"12"}`, code: wire.CodeBadFrame},
		{name: "since as a float is a bad frame", in: `{"type":"subscribe","room":"r1","since":1.5}`, code: wire.CodeBadFrame},
		{name: "since in exponent notation is a bad frame", in: `{"type":"subscribe","room":"r1","since":1e3}`, code: wire.CodeBadFrame},
		{name: "since past int64 is a bad frame", in: `{"type":"subscribe","room":"r1","since":9223372036854775808}`, code: wire.CodeBadFrame},
		{name: "a negative since is a bad frame about that room", in: `{"type":"subscribe","room":"r1","since":-1}`, code: wire.CodeBadFrame, ref: "r1"},
		{name: "a subscribe without room is a bad frame", in: `{"type":"subscribe","since":0}`, code: wire.CodeBadFrame},
		{name: "an empty room is a bad frame", in: `{"type":"subscribe","room":""}`, code: wire.CodeBadFrame},
		{name: "a room with a slash is a bad frame", in: `{"type":"subscribe","room":"r1/../r2"}`, code: wire.CodeBadFrame},
		{name: "a room with a space is a bad frame", in: `{"type":"subscribe","room":"r 1"}`, code: wire.CodeBadFrame},
		{name: "a room starting with a dot is a bad frame", in: `{"type":"subscribe","room":".r1"}`, code: wire.CodeBadFrame},
		{name: "a room with a trailing newline is a bad frame", in: `{"type":"subscribe","room":"r1\n"}`, code: wire.CodeBadFrame},
		{name: "a room as a number is a bad frame", in: `{"type":"subscribe","room":1}`, code: wire.CodeBadFrame},
		{name: "a room of 64 characters is accepted", in: `{"type":"subscribe","room":"` + room64 + `"}`, want: &wire.Subscribe{Room: room64}},
		{name: "a room of 65 characters is a bad frame", in: `{"type":"subscribe","room":"` + room65 + `"}`, code: wire.CodeBadFrame},

		// unsubscribe.
		{name: "an unsubscribe is accepted", in: `{"type":"unsubscribe","room":"booking_42.chat-1"}`, want: &wire.Unsubscribe{Room: "booking_42.chat-1"}},
		{name: "an unsubscribe without room is a bad frame", in: `{"type":"unsubscribe"}`, code: wire.CodeBadFrame},

		// send.
		{name: "a send is accepted", in: sendJSON("r1", "c1", "hi"), want: &wire.Send{Room: "r1", ClientID: "c1", Body: "hi"}},
		{name: "a send with a UUID client_id is accepted", in: sendJSON("r1", "6f1c2a8e-3b1d-4c55-9a0e-1f2d3c4b5a69", "hi"), want: &wire.Send{Room: "r1", ClientID: "6f1c2a8e-3b1d-4c55-9a0e-1f2d3c4b5a69", Body: "hi"}},
		{name: "a body of 4000 emoji is accepted", in: sendJSON("r1", "c1", emoji4000), want: &wire.Send{Room: "r1", ClientID: "c1", Body: emoji4000}},
		{name: "a body of 4001 emoji is an invalid body about that client_id", in: sendJSON("r1", "c1", emoji4001), code: wire.CodeInvalidBody, ref: "c1"},
		{name: "an empty body is an invalid body about that client_id", in: sendJSON("r1", "c1", ""), code: wire.CodeInvalidBody, ref: "c1"},
		{name: "a body of only white space is an invalid body", in: sendJSON("r1", "c1", " \t\n\u00a0\u3000"), code: wire.CodeInvalidBody, ref: "c1"},
		{name: "a send without body is an invalid body", in: `{"type":"send","room":"r1","client_id":"c1"}`, code: wire.CodeInvalidBody, ref: "c1"},
		{name: "a body as a number is a bad frame", in: `{"type":"send","room":"r1","client_id":"c1","body":7}`, code: wire.CodeBadFrame},
		{name: "a send without room is a bad frame", in: `{"type":"send","client_id":"c1","body":"hi"}`, code: wire.CodeBadFrame},
		{name: "a send without client_id is a bad frame about that room", in: `{"type":"send","room":"r1","body":"hi"}`, code: wire.CodeBadFrame, ref: "r1"},
		{name: "a client_id of 64 characters is accepted", in: sendJSON("r1", client64, "hi"), want: &wire.Send{Room: "r1", ClientID: client64, Body: "hi"}},
		{name: "a client_id of 65 characters is a bad frame about that room", in: sendJSON("r1", client65, "hi"), code: wire.CodeBadFrame, ref: "r1"},
		{name: "a client_id with spaces is a bad frame about that room", in: sendJSON("r1", "c 1", "hi"), code: wire.CodeBadFrame, ref: "r1"},
		{name: "a client_id as a number is a bad frame", in: `{"type":"send","room":"r1","client_id":1,"body":"hi"}`, code: wire.CodeBadFrame},

		// hello.
		{name: "a hello is accepted", in: `{"type":"hello","token":"t"}`, want: &wire.Hello{Token: "t"}},
		{name: "a hello with resume is accepted", in: `{"type":"hello","token":"t","resume":{"r1":4,"r2":0}}`, want: &wire.Hello{Token: "t", Resume: map[string]int64{"r1": 4, "r2": 0}}},
		{name: "a hello without token is a bad frame", in: `{"type":"hello"}`, code: wire.CodeBadFrame},
		{name: "a hello with an empty token is a bad frame", in: `{"type":"hello","token":""}`, code: wire.CodeBadFrame},
		{name: "a hello with a numeric token is a bad frame", in: `{"type":"hello","token":123}`, code: wire.CodeBadFrame},
		{name: "a resume of a bad room is a bad frame", in: `{"type":"hello","token":"t","resume":{"bad room":1}}`, code: wire.CodeBadFrame},
		{name: "a resume with a negative seq is a bad frame", in: `{"type":"hello","token":"t","resume":{"r1":-1}}`, code: wire.CodeBadFrame},
		{name: "a resume with a string seq is a bad frame", in: `{"type":"hello","token":"t","resume":{"r1":"4"}}`, code: wire.CodeBadFrame},
		{name: "a resume as a list is a bad frame", in: `{"type":"hello","token":"t","resume":["r1"]}`, code: wire.CodeBadFrame},

		// Repeated fields: the last one counts, as in encoding/json.
		{name: "a repeated since keeps the last value", in: `{"type":"subscribe","room":"r1","since":1,"since":2}`, want: &wire.Subscribe{Room: "r1", Since: 2}},
		{name: "a repeated type keeps the last type", in: `{"type":"send","type":"ping","id":3}`, want: &wire.Ping{ID: 3}},
		{name: "a valid room then an invalid one is refused", in: `{"type":"unsubscribe","room":"r1","room":"r 1"}`, code: wire.CodeBadFrame},

		// Frames of the server.
		{name: "a welcome without session is a bad frame", in: `{"type":"welcome","heartbeat_ms":25000}`, code: wire.CodeBadFrame},
		{name: "a subscribed with recovered as a string is a bad frame", in: `{"type":"subscribed","room":"r1","head":1,"recovered":"false"}`, code: wire.CodeBadFrame},
		{name: "a message with seq 0 is a bad frame", in: `{"type":"message","room":"r1","seq":0}`, code: wire.CodeBadFrame},
		{name: "a message without room is a bad frame", in: `{"type":"message","seq":1}`, code: wire.CodeBadFrame},
		{name: "an ack with seq 0 is a bad frame", in: `{"type":"ack","room":"r1","client_id":"c1","seq":0}`, code: wire.CodeBadFrame},
		{name: "an ack without client_id is a bad frame about that room", in: `{"type":"ack","room":"r1","seq":3}`, code: wire.CodeBadFrame, ref: "r1"},
		{name: "an error frame without code is a bad frame", in: `{"type":"error","message":"oops"}`, code: wire.CodeBadFrame},
		{name: "a pong is accepted", in: `{"type":"pong","id":1,"server_time":2}`, want: &wire.Pong{ID: 1, ServerTime: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.Decode([]byte(tt.in))
			if tt.want != nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			assert.Nil(t, got)
			de := decodeError(t, err)
			assert.Equal(t, tt.code, de.Code, "reason: %s", de.Reason)
			assert.Equal(t, tt.ref, de.Ref)
			assert.NotEmpty(t, de.Reason)
			assert.Equal(t, de.Code+": "+de.Reason, err.Error())
		})
	}
}

func TestDecodeRefusesInvalidUTF8Anywhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"a stray continuation byte in a body", "{\"type\":\"send\",\"room\":\"r1\",\"client_id\":\"c1\",\"body\":\"a\x80b\"}"},
		{"a 0xff byte in a token", "{\"type\":\"hello\",\"token\":\"t\xff\"}"},
		{"a truncated multi-byte rune in an unknown field", "{\"type\":\"ping\",\"x\":\"\xe2\x82\"}"},
		{"an overlong encoding of a slash", "{\"type\":\"ping\",\"x\":\"\xc0\xaf\"}"},
		{"an encoded surrogate half", "{\"type\":\"ping\",\"x\":\"\xed\xa0\x80\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.Decode([]byte(tt.in))
			de := decodeError(t, err)
			assert.Equal(t, wire.CodeBadFrame, de.Code)
			assert.Contains(t, de.Reason, "UTF-8")
		})
	}
}

func TestDecodeRefusesFramesOverMaxFrameBytes(t *testing.T) {
	t.Parallel()
	// pingOf pads a valid ping with JSON white space to exactly n bytes.
	pingOf := func(n int) []byte {
		p := []byte(`{"type":"ping","id":1}`)
		return append(p, strings.Repeat(" ", n-len(p))...)
	}
	tests := []struct {
		name string
		in   []byte
		code string // "" when accepted
	}{
		{"a frame of exactly 64 KiB is accepted", pingOf(wire.MaxFrameBytes), ""},
		{"a frame one byte over 64 KiB is too large", pingOf(wire.MaxFrameBytes + 1), wire.CodeTooLarge},
		{"a frame of 1 MiB is too large", pingOf(1 << 20), wire.CodeTooLarge},
		{"an oversized frame of garbage is too large, not a bad frame", []byte(strings.Repeat("\xff", wire.MaxFrameBytes+1)), wire.CodeTooLarge},
		{"an oversized send with a long body is too large, not an invalid body", []byte(sendJSON("r1", "c1", strings.Repeat("a", wire.MaxFrameBytes))), wire.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.Decode(tt.in)
			if tt.code == "" {
				require.NoError(t, err)
				assert.Equal(t, &wire.Ping{ID: 1}, got)
				return
			}
			de := decodeError(t, err)
			assert.Equal(t, tt.code, de.Code)
			assert.Empty(t, de.Ref)
		})
	}
}

func TestAReencodedFrameCanOutgrowMaxFrameBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string // a character sent raw that Encode escapes to \uXXXX
	}{
		{"less-than signs escaped for HTML", "<"},
		{"ampersands escaped for HTML", "&"},
		{"line separators escaped for JavaScript", "\u2028"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Unbounded fields (an error's message) may fill a frame; a send's
			// body cannot, being bounded by MaxBodyChars.
			msg := strings.Repeat(tt.raw, (wire.MaxFrameBytes-64)/len(tt.raw))
			in := []byte(`{"type":"error","code":"x","message":"` + msg + `"}`)
			require.LessOrEqual(t, len(in), wire.MaxFrameBytes)

			f, err := wire.Decode(in)
			require.NoError(t, err)
			enc, err := wire.Encode(f)
			require.NoError(t, err)
			require.Greater(t, len(enc), wire.MaxFrameBytes, "the escaped encoding is larger than the frame as sent")

			_, err = wire.Decode(enc)
			de := decodeError(t, err)
			assert.Equal(t, wire.CodeTooLarge, de.Code)
		})
	}
}

func TestASendOf4000CharactersStaysFarUnderMaxFrameBytesWhenEncoded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		char string // the body is "x" then 3999 of these
	}{
		{"less-than signs, each escaped to six bytes", "<"},
		{"line separators, each escaped to six bytes", "\u2028"},
		{"quotes, each escaped to two bytes", `"`},
		{"emoji of four bytes each", "😀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &wire.Send{Room: "r" + strings.Repeat("x", 63), ClientID: strings.Repeat("c", 64), Body: "x" + strings.Repeat(tt.char, wire.MaxBodyChars-1)}
			enc, err := wire.Encode(f)
			require.NoError(t, err)
			assert.Less(t, len(enc), wire.MaxFrameBytes/2)
			got, err := wire.Decode(enc)
			require.NoError(t, err)
			assert.Equal(t, f, got)
		})
	}
}

func TestDecodeErrorReasonsDoNotLeakGoTypeNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"a JSON array", `[1]`},
		{"a JSON string", `"x"`},
		{"a string since", `{"type":"subscribe","room":"r1","since":"1"}`},
		{"a numeric token", `{"type":"hello","token":1}`},
		{"a list resume", `{"type":"hello","token":"t","resume":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.Decode([]byte(tt.in))
			require.Error(t, err)
			for _, goName := range []string{"wire.", "int64", "struct", "map["} {
				assert.NotContains(t, err.Error(), goName)
			}
		})
	}
}

func TestDecodeTruncatesLongValuesInReasons(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	_, err := wire.Decode([]byte(`{"type":"unsubscribe","room":"` + long + `"}`))
	de := decodeError(t, err)
	assert.Less(t, len(de.Reason), 200, "the reason quotes at most 80 bytes of the room")
	assert.Contains(t, de.Reason, "…")
}

func TestValidateBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"a word is a body", "hi", true},
		{"a single character is a body", "x", true},
		{"a body may have white space around it", "  hi  ", true},
		{"a body may span lines", "one\ntwo", true},
		{"4000 ASCII characters are a body", strings.Repeat("a", wire.MaxBodyChars), true},
		{"4000 emoji are a body, counted as runes not bytes", strings.Repeat("😀", wire.MaxBodyChars), true},
		{"4000 accented letters are a body", strings.Repeat("é", wire.MaxBodyChars), true},
		{"an empty body is refused", "", false},
		{"a body of spaces is refused", "     ", false},
		{"a body of tabs and newlines is refused", "\t\r\n", false},
		{"a body of Unicode spaces is refused", "\u00a0\u2003\u3000\u0085", false},
		{"4001 ASCII characters are refused", strings.Repeat("a", wire.MaxBodyChars+1), false},
		{"4001 emoji are refused", strings.Repeat("😀", wire.MaxBodyChars+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := wire.ValidateBody(tt.body)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestValidRoom(t *testing.T) {
	t.Parallel()
	assertEach(t, wire.ValidRoom, []valueCase[string, bool]{
		{"a short room is valid", "r1", true},
		{"a single digit is valid", "7", true},
		{"dots, dashes and underscores are valid after the first character", "booking_42.chat-1", true},
		{"64 characters are valid", "a" + strings.Repeat("b", 63), true},
		{"an empty room is invalid", "", false},
		{"65 characters are invalid", "a" + strings.Repeat("b", 64), false},
		{"a leading dash is invalid", "-r1", false},
		{"a leading underscore is invalid", "_r1", false},
		{"a leading dot is invalid", ".r1", false},
		{"a space is invalid", "r 1", false},
		{"a slash is invalid", "a/b", false},
		{"a colon is invalid", "a:b", false},
		{"a trailing newline is invalid", "r1\n", false},
		{"a non-ASCII letter is invalid", "café", false},
		{"a NUL byte is invalid", "r\x001", false},
	})
}

func TestValidClientID(t *testing.T) {
	t.Parallel()
	assertEach(t, wire.ValidClientID, []valueCase[string, bool]{
		{"a UUID is valid", "6f1c2a8e-3b1d-4c55-9a0e-1f2d3c4b5a69", true},
		{"a short id is valid", "c1", true},
		{"colons, dots, dashes and underscores are valid anywhere", ":a.b-c_d:", true},
		{"a single dash is valid", "-", true},
		{"64 characters are valid", strings.Repeat("c", 64), true},
		{"an empty id is invalid", "", false},
		{"65 characters are invalid", strings.Repeat("c", 65), false},
		{"a space is invalid", "c 1", false},
		{"a tab is invalid", "c\t1", false},
		{"a slash is invalid", "c/1", false},
		{"a quote is invalid", `c"1`, false},
		{"a trailing newline is invalid", "c1\n", false},
		{"a non-ASCII letter is invalid", "ç1", false},
	})
}

func TestValidRole(t *testing.T) {
	t.Parallel()
	assertEach(t, wire.ValidRole, []valueCase[string, bool]{
		{"a customer is a role", wire.RoleCustomer, true},
		{"a therapist is a role", wire.RoleTherapist, true},
		{"a place is a role", wire.RolePlace, true},
		{"an empty role is not a role", "", false},
		{"roles are case sensitive", "Customer", false},
		{"an admin is not a role", "admin", false},
	})
}

func TestCloseCodeString(t *testing.T) {
	t.Parallel()
	assertEach(t, wire.CloseCode.String, []valueCase[wire.CloseCode, string]{
		{"1000 is normal", wire.CloseNormal, "normal"},
		{"1001 is going away", wire.CloseGoingAway, "going away"},
		{"1006 is abnormal", wire.CloseAbnormal, "abnormal"},
		{"1007 is bad data", wire.CloseBadData, "bad data"},
		{"1008 is policy", wire.ClosePolicy, "policy"},
		{"1009 is too big", wire.CloseTooBig, "too big"},
		{"1011 is server error", wire.CloseServerError, "server error"},
		{"1012 is restart", wire.CloseRestart, "restart"},
		{"4001 is draining", wire.CloseDraining, "draining"},
		{"4401 is unauthorized", wire.CloseUnauthorized, "unauthorized"},
		{"4403 is forbidden", wire.CloseForbidden, "forbidden"},
		{"4429 is rate limited", wire.CloseRateLimited, "rate limited"},
		{"an unknown code shows its number", wire.CloseCode(4999), "close 4999"},
		{"code 0 shows its number", wire.CloseCode(0), "close 0"},
	})
}

func TestCloseCodesHaveTheDesignValues(t *testing.T) {
	t.Parallel()
	assertEach(t, func(c wire.CloseCode) int { return int(c) }, []valueCase[wire.CloseCode, int]{
		{"normal is 1000", wire.CloseNormal, 1000},
		{"going away is 1001", wire.CloseGoingAway, 1001},
		{"abnormal is 1006", wire.CloseAbnormal, 1006},
		{"bad data is 1007", wire.CloseBadData, 1007},
		{"policy is 1008", wire.ClosePolicy, 1008},
		{"too big is 1009", wire.CloseTooBig, 1009},
		{"server error is 1011", wire.CloseServerError, 1011},
		{"restart is 1012", wire.CloseRestart, 1012},
		{"draining is 4001", wire.CloseDraining, 4001},
		{"unauthorized is 4401", wire.CloseUnauthorized, 4401},
		{"forbidden is 4403", wire.CloseForbidden, 4403},
		{"rate limited is 4429", wire.CloseRateLimited, 4429},
	})
}

func TestRetryAfterReasonRoundTrips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   wire.RetryAfter
		want string
	}{
		{"zero milliseconds", wire.RetryAfter{}, `{"retry_after_ms":0}`},
		{"a second and a half", wire.RetryAfter{RetryAfterMS: 1500}, `{"retry_after_ms":1500}`},
		{"a minute", wire.RetryAfter{RetryAfterMS: 60000}, `{"retry_after_ms":60000}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reason := tt.in.Reason()
			assert.Equal(t, tt.want, reason)
			assert.LessOrEqual(t, len(reason), 123, "a WebSocket close reason holds at most 123 bytes")
			got, err := wire.ParseRetryAfter(reason)
			require.NoError(t, err)
			assert.Equal(t, tt.in, got)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reason string
		want   wire.RetryAfter
		ok     bool
	}{
		{"a retry reason is read", `{"retry_after_ms":250}`, wire.RetryAfter{RetryAfterMS: 250}, true},
		{"unknown fields are ignored", `{"retry_after_ms":250,"why":"drain"}`, wire.RetryAfter{RetryAfterMS: 250}, true},
		{"an empty object means retry now", `{}`, wire.RetryAfter{}, true},
		{"an empty reason is refused", ``, wire.RetryAfter{}, false},
		{"plain text is refused", `going away`, wire.RetryAfter{}, false},
		{"truncated JSON is refused", `{"retry_after_ms":2`, wire.RetryAfter{}, false},
		{"a string value is refused", `{"retry_after_ms":"250"}`, wire.RetryAfter{}, false},
		{"a float value is refused", `{"retry_after_ms":2.5}`, wire.RetryAfter{}, false},
		{"a JSON array is refused", `[250]`, wire.RetryAfter{}, false},
		{"a negative wait is refused", `{"retry_after_ms":-1}`, wire.RetryAfter{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.ParseRetryAfter(tt.reason)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHTTPBodiesUseTheDesignFieldNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body any
		want string
	}{
		{"an HTTP error names its code error", wire.ErrorBody{Code: wire.CodeNotFound, Message: "no such path"}, `{"error":"not_found","message":"no such path"}`},
		{"a post carries client_id and body", wire.PostMessage{ClientID: "c1", Body: "hi"}, `{"client_id":"c1","body":"hi"}`},
		{"a posted answer carries client_id, seq and sent_at", wire.Posted{ClientID: "c1", Seq: 3, SentAt: 5}, `{"client_id":"c1","seq":3,"sent_at":5}`},
		{"an empty page still lists messages", wire.MessagesPage{Messages: []wire.Message{}, Head: 0}, `{"messages":[],"head":0}`},
		{"a dev token carries the token", wire.DevToken{Token: "t"}, `{"token":"t"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.body)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}

func TestDecodeErrorIsAnError(t *testing.T) {
	t.Parallel()
	var err error = &wire.DecodeError{Code: wire.CodeInvalidBody, Reason: "body is empty", Ref: "c1"}
	assert.Equal(t, "invalid_body: body is empty", err.Error())
	var de *wire.DecodeError
	require.True(t, errors.As(fmt.Errorf("wrapped: %w", err), &de))
	assert.Equal(t, "c1", de.Ref)
}
