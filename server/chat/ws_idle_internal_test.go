//go:build !wasm

package chat

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOnlyWholeMaskedPongsAreTakenFromTheSocket(t *testing.T) {
	t.Parallel()
	pong := []byte{0x8a, 0x81, 1, 2, 3, 4, '1' ^ 1}
	for _, tt := range []struct {
		name  string
		input []byte
		want  bool
	}{
		{"one pong", pong, true},
		{"two pongs", append(append([]byte{}, pong...), pong...), true},
		{"an empty pong", []byte{0x8a, 0x80, 1, 2, 3, 4}, true},
		{"part of a pong", pong[:4], false},
		{"a pong and part of a frame", append(append([]byte{}, pong...), 0x81), false},
		{"a text frame", []byte{0x81, 0x81, 1, 2, 3, 4, 'x'}, false},
		{"an unmasked pong", []byte{0x8a, 0x01, '1'}, false},
		{"a close frame", []byte{0x88, 0x82, 1, 2, 3, 4, 0, 0}, false},
		{"a pong with an extended length", []byte{0x8a, 0xfe, 0, 126}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, wholePongs(tt.input))
		})
	}
}
