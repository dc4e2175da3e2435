//go:build !wasm

package bundle

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAcceptsEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		enc    string
		want   bool
	}{
		{name: "br accepted when named alone", header: "br", enc: "br", want: true},
		{name: "br accepted when named among others", header: "gzip, deflate, br, zstd", enc: "br", want: true},
		{name: "br not accepted when not named", header: "gzip, deflate", enc: "br", want: false},
		{name: "gzip accepted when named first", header: "gzip, deflate", enc: "gzip", want: true},
		{name: "nothing accepted from an empty header", header: "", enc: "br", want: false},
		{name: "br refused with q=0", header: "br;q=0, gzip", enc: "br", want: false},
		{name: "gzip accepted beside a refused br", header: "br;q=0, gzip", enc: "gzip", want: true},
		{name: "br refused with q=0.000", header: "br;q=0.000", enc: "br", want: false},
		{name: "br accepted with a low q", header: "br;q=0.1", enc: "br", want: true},
		{name: "spaces around the q parameter are allowed", header: "br ; q = 0 , gzip", enc: "br", want: false},
		{name: "q among other parameters is read", header: "gzip;level=9;q=0", enc: "gzip", want: false},
		{name: "names are case-insensitive", header: "BR, GZip", enc: "br", want: true},
		{name: "the wildcard accepts br", header: "*", enc: "br", want: true},
		{name: "the wildcard with q=0 accepts nothing", header: "*;q=0", enc: "gzip", want: false},
		{name: "a refused name wins over the wildcard", header: "*, br;q=0", enc: "br", want: false},
		{name: "a named encoding wins over a refusing wildcard", header: "*;q=0, gzip", enc: "gzip", want: true},
		{name: "identity accepts no compression", header: "identity", enc: "gzip", want: false},
		{name: "a longer name is not a match", header: "brotli", enc: "br", want: false},
		{name: "every encoding refused", header: "gzip;q=0, br;q=0", enc: "gzip", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, acceptsEncoding(tt.header, tt.enc))
		})
	}
}
