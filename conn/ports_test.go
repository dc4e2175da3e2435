package conn_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"tether/conn"
	"tether/conn/wire"
)

func TestHTTPErrorSaysWhatTheServerAnswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *conn.HTTPError
		want string
	}{
		{"an answer with the protocol's body names its code and message",
			&conn.HTTPError{Status: 401, Code: wire.CodeRevoked, Message: "this access was revoked"},
			"server answered revoked: this access was revoked"},
		{"an answer without a code names its status and text",
			&conn.HTTPError{Status: 502, Message: "Bad Gateway"},
			"server answered HTTP 502: Bad Gateway"},
		{"an empty answer names its status alone",
			&conn.HTTPError{Status: 502},
			"server answered HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.err.Error())
		})
	}
}

func TestHTTPErrorUnwrapsToItsCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("expected handshake response status code 101 but got 503")
	err := error(&conn.HTTPError{Status: 503, Code: wire.CodeUnavailable, Cause: cause})
	assert.ErrorIs(t, err, cause)
	assert.NoError(t, (&conn.HTTPError{Status: 503}).Unwrap(), "a plain HTTP answer has no cause")
}
