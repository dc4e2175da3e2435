package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// fuzzSeeds are valid frames of every type, then inputs near the edges of
// what Decode accepts. testdata/fuzz/FuzzDecode holds more.
var fuzzSeeds = []string{
	// One valid frame of each type.
	`{"type":"hello","token":"tok.en.sig","resume":{"r1":4,"room-2":0}}`,
	`{"type":"subscribe","room":"r1","since":12}`,
	`{"type":"unsubscribe","room":"r1"}`,
	`{"type":"send","room":"r1","client_id":"6f1c2a8e-3b1d-4c55-9a0e-1f2d3c4b5a69","body":"hello 👋"}`,
	`{"type":"ping","id":99}`,
	`{"type":"welcome","session":"s-1","heartbeat_ms":25000,"server_time":1700000000000,"user":{"id":"u1","name":"Ada","role":"customer"}}`,
	`{"type":"subscribed","room":"r1","head":7,"recovered":true}`,
	`{"type":"subscribed","room":"r1","head":700,"recovered":false}`,
	`{"type":"message","room":"r1","seq":3,"id":"m3","client_id":"c1","sender":{"id":"u1","name":"Ada","role":"place"},"body":"hi","sent_at":1700000000000}`,
	`{"type":"ack","room":"r1","client_id":"c1","seq":3,"sent_at":1700000000000}`,
	`{"type":"pong","id":99,"server_time":1700000000001}`,
	`{"type":"error","code":"rate_limited","message":"slow down","ref":"c1","retry_after_ms":1500}`,

	// Tricky ones.
	``,
	`null`,
	`{}`,
	`[]`,
	`"hello"`,
	`{"type":null}`,
	`{"type":1}`,
	`{"type":"PING"}`,
	`{"TYPE":"ping","ID":3}`,
	`{"type":"ping","type":"send"}`,
	`{"type":"ping","id":1e3}`,
	`{"type":"ping","id":-9223372036854775808}`,
	`{"type":"ping","id":9223372036854775808}`,
	`{"type":"ping","extra":{"deep":[1,{"x":null}]}}`,
	`{"type":"hello","token":"t","resume":{}}`,
	`{"type":"hello","token":"t","resume":null}`,
	`{"type":"hello","token":"t","resume":{"r1":-1}}`,
	`{"type":"hello","token":"t","resume":{"bad room":1}}`,
	`{"type":"subscribe","room":"r1","since":"0"}`,
	`{"type":"subscribe","room":"r1\n"}`,
	`{"type":"send","room":"r1","client_id":"c1","body":"\ud800"}`,
	`{"type":"send","room":"r1","client_id":"c1","body":"\u2028<&>\u0000"}`,
	`{"type":"send","room":"r1","client_id":"c1","body":" \t\u00a0"}`,
	`{"type":"send","room":"r1","client_id":"c 1","body":"x"}`,
	`{"type":"error","code":"x","message":"\/\b\f"}`,
	"{\"type\":\"ping\",\"x\":\"\xff\"}",
	"\xef\xbb\xbf{\"type\":\"ping\"}",
	` {"type":"ping"} `,
	`{"type":"ping"}{"type":"ping"}`,
}

// decodeCodes are the only codes a DecodeError carries.
var decodeCodes = map[string]bool{CodeBadFrame: true, CodeTooLarge: true, CodeInvalidBody: true}

// normalise makes frames that encode the same compare equal: an empty
// resume encodes like no resume at all (omitempty).
func normalise(f Frame) Frame {
	if h, ok := f.(*Hello); ok && len(h.Resume) == 0 {
		c := *h
		c.Resume = nil
		return &c
	}
	return f
}

// checkDecodeError fails unless err is a *DecodeError with a known code.
func checkDecodeError(t *testing.T, err error) *DecodeError {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("Decode error %v (%T) is not a *DecodeError", err, err)
	}
	if !decodeCodes[de.Code] {
		t.Fatalf("Decode error has code %q, want bad_frame, too_large or invalid_body", de.Code)
	}
	if de.Reason == "" {
		t.Fatalf("Decode error with code %q has no reason", de.Code)
	}
	return de
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		frame, err := Decode(data)
		if !bytes.Equal(orig, data) {
			t.Fatalf("Decode changed its input")
		}
		if err != nil {
			if frame != nil {
				t.Fatalf("Decode returned both frame %#v and error %v", frame, err)
			}
			de := checkDecodeError(t, err)
			if (len(data) > MaxFrameBytes) != (de.Code == CodeTooLarge) {
				t.Fatalf("a frame of %d bytes got code %q", len(data), de.Code)
			}
			return
		}
		if frame == nil {
			t.Fatalf("Decode returned neither frame nor error")
		}
		if err := frame.validate(); err != nil {
			t.Fatalf("decoded %#v does not validate: %v", frame, err)
		}

		enc, err := Encode(frame)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", frame, err)
		}
		if !json.Valid(enc) {
			t.Fatalf("encoding %q is not valid JSON", enc)
		}
		if prefix := `{"type":"` + frame.FrameType() + `"`; !strings.HasPrefix(string(enc), prefix) {
			t.Fatalf("encoding %q does not start with %s", enc, prefix)
		}

		again, err := Decode(enc)
		if len(enc) > MaxFrameBytes {
			// Encode escapes characters an input may hold raw (<, >, &,
			// U+2028, U+2029), so a frame just under the limit can grow past
			// it; then, and only then, decoding refuses it as too large.
			// TestAReencodedFrameCanOutgrowMaxFrameBytes pins this case; it
			// is no fuzz seed because minimising 64 KiB inputs stalls the
			// fuzzer.
			if de := checkDecodeError(t, err); de.Code != CodeTooLarge {
				t.Fatalf("re-encoding of %d bytes got code %q", len(enc), de.Code)
			}
			return
		}
		if err != nil {
			t.Fatalf("encoding %q of a decoded frame does not decode: %v", enc, err)
		}
		if err := again.validate(); err != nil {
			t.Fatalf("re-decoded %#v does not validate: %v", again, err)
		}
		if !reflect.DeepEqual(normalise(frame), normalise(again)) {
			t.Fatalf("round trip changed the frame:\n input %q\n first %#v\nencode %q\nsecond %#v", data, frame, enc, again)
		}

		enc2, err := Encode(again)
		if err != nil {
			t.Fatalf("re-decoded %#v does not encode: %v", again, err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n first %q\nsecond %q", enc, enc2)
		}
	})
}

// FuzzValidIDs holds ValidRoom to RoomPattern, and ValidClientID to the
// pattern its doc comment spells, for any input: the two are written out
// by hand to spare the client compiling them at start.
func FuzzValidIDs(f *testing.F) {
	room := regexp.MustCompile(RoomPattern)
	clientID := regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	for _, s := range []string{"", "r1", "7", "-r", "_r", ".r", ":r", "a:b", "r 1", "r1\n", "café", "r\x001",
		"6f1c2a8e-3b1d-4c55-9a0e-1f2d3c4b5a69", strings.Repeat("r", 63), strings.Repeat("r", 64), strings.Repeat("r", 65),
		"r" + strings.Repeat(".", 63), strings.Repeat(":", 64), "a/b", "\xff", "Z9_-.", "z\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidRoom(s), room.MatchString(s); got != want {
			t.Fatalf("ValidRoom(%q) = %v, RoomPattern says %v", s, got, want)
		}
		if got, want := ValidClientID(s), clientID.MatchString(s); got != want {
			t.Fatalf("ValidClientID(%q) = %v, its pattern says %v", s, got, want)
		}
	})
}
