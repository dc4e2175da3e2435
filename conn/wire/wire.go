// Package wire is tether's protocol v1: the frames a client and the server
// exchange over WebSocket, the JSON bodies of the HTTP fallback, and the
// error and close codes. Server and client share it, so both sides validate
// a frame the same way.
//
// Frames are UTF-8 JSON objects, one per WebSocket text message, with a
// "type" field. Decoding tolerates unknown fields (a newer peer may add
// some) and rejects wrong types, missing required fields and values out of
// range.
package wire

// Subprotocol is the WebSocket subprotocol of protocol v1.
const Subprotocol = "tether.v1"

// Limits of protocol v1.
const (
	// MaxFrameBytes is the largest frame either side accepts; a larger one
	// closes the connection with CloseTooBig.
	MaxFrameBytes = 64 << 10
	// MaxBodyChars is the longest message body, in characters (runes).
	MaxBodyChars = 4000
	// MaxClientIDLen bounds a client_id.
	MaxClientIDLen = 64
	// ReplayLimit is the most messages one subscribe replays; past it the
	// subscribed frame says recovered:false and the client pages the rest
	// over HTTP.
	ReplayLimit = 500
	// MaxWaitSeconds bounds a long-poll's wait.
	MaxWaitSeconds = 30
	// MaxPageLimit bounds one HTTP page of messages.
	MaxPageLimit = 500
)

// RoomPattern is what a room id looks like: a letter or digit, then up to 63
// letters, digits, dots, dashes or underscores. ValidRoom checks it.
const RoomPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`

// ValidRoom reports whether room matches RoomPattern. It is written out,
// not compiled: a counted repetition compiles into 64 copies of its class,
// which every page of the client paid for at start (a few milliseconds of
// wasm before the first render), and the server checks rooms on every frame.
func ValidRoom(room string) bool {
	if len(room) == 0 || len(room) > 64 || !alnum(room[0]) {
		return false
	}
	for i := 1; i < len(room); i++ {
		if c := room[i]; !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ValidClientID reports whether id is a well-formed client_id: 1 to 64
// letters, digits, dots, colons, dashes or underscores, which keeps client
// ids printable and safe to log (UUIDs and similar tokens fit).
func ValidClientID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !alnum(c) && c != '.' && c != '_' && c != '-' && c != ':' {
			return false
		}
	}
	return true
}

// alnum reports whether c is an ASCII letter or digit.
func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Roles of the people in a booking chat.
const (
	RoleCustomer  = "customer"
	RoleTherapist = "therapist"
	RolePlace     = "place"
)

// ValidRole reports whether role is one of the roles a token may carry.
func ValidRole(role string) bool {
	return role == RoleCustomer || role == RoleTherapist || role == RolePlace
}
