package wire

import (
	"encoding/json"
	"fmt"
)

// Error codes, the "code" of an error frame and the "error" of an HTTP error
// body.
const (
	CodeBadFrame      = "bad_frame"      // not JSON, unknown type, wrong field types or values
	CodeHelloRequired = "hello_required" // a frame other than hello came first
	CodeUnauthorized  = "unauthorized"   // token missing, invalid or expired
	CodeForbidden     = "forbidden"      // not a participant of that room
	CodeTooLarge      = "too_large"      // frame or HTTP body over the limit
	CodeInvalidBody   = "invalid_body"   // message body empty, blank or over MaxBodyChars
	CodeConflict      = "conflict"       // client_id already used by someone else in the room
	CodeRateLimited   = "rate_limited"   // slow down; retry_after_ms says how long
	CodeNotFound      = "not_found"      // no such path
	CodeUnavailable   = "unavailable"    // the server is draining or refusing on purpose
	CodeInternal      = "internal"       // the server failed; the request may be retried
	// Contract v2.
	CodeCancelled      = "cancelled"       // the booking is cancelled: its room is read-only
	CodeRevoked        = "revoked"         // the session (or invite) was revoked by the operator
	CodeSessionExpired = "session_expired" // the session is over: open the invite link again
)

// CloseCode is a WebSocket close status code of protocol v1.
type CloseCode int

// Close codes and what a client does about each (see the design's table).
const (
	CloseNormal       CloseCode = 1000 // retry with backoff
	CloseGoingAway    CloseCode = 1001 // retry with backoff
	CloseAbnormal     CloseCode = 1006 // no close frame; retry with backoff
	CloseBadData      CloseCode = 1007 // repeated malformed frames
	ClosePolicy       CloseCode = 1008 // no hello in time, or too slow to read
	CloseTooBig       CloseCode = 1009 // frame over MaxFrameBytes
	CloseServerError  CloseCode = 1011 // retry with backoff
	CloseRestart      CloseCode = 1012 // retry with backoff
	CloseDraining     CloseCode = 4001 // reason RetryAfter: come back within that window
	CloseUnauthorized CloseCode = 4401 // get a new token, then retry
	CloseForbidden    CloseCode = 4403 // not a participant
	CloseRateLimited  CloseCode = 4429 // reason RetryAfter: wait that long
)

// String names the code for logs.
func (c CloseCode) String() string {
	switch c {
	case CloseNormal:
		return "normal"
	case CloseGoingAway:
		return "going away"
	case CloseAbnormal:
		return "abnormal"
	case CloseBadData:
		return "bad data"
	case ClosePolicy:
		return "policy"
	case CloseTooBig:
		return "too big"
	case CloseServerError:
		return "server error"
	case CloseRestart:
		return "restart"
	case CloseDraining:
		return "draining"
	case CloseUnauthorized:
		return "unauthorized"
	case CloseForbidden:
		return "forbidden"
	case CloseRateLimited:
		return "rate limited"
	default:
		return fmt.Sprintf("close %d", int(c))
	}
}

// RetryAfter is the JSON reason of CloseDraining and CloseRateLimited.
type RetryAfter struct {
	RetryAfterMS int64 `json:"retry_after_ms"`
}

// Reason encodes r as a close reason.
func (r RetryAfter) Reason() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// ParseRetryAfter reads the reason of CloseDraining or CloseRateLimited.
func ParseRetryAfter(reason string) (RetryAfter, error) {
	var r RetryAfter
	if err := json.Unmarshal([]byte(reason), &r); err != nil {
		return RetryAfter{}, fmt.Errorf("failed to parse close reason %q: %w", reason, err)
	}
	if r.RetryAfterMS < 0 {
		return RetryAfter{}, fmt.Errorf("negative retry_after_ms in %q", reason)
	}
	return r, nil
}
