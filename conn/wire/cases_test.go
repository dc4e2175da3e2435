package wire_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
)

// valueCase is a row of a table test of a function: what it is given and
// what it must return.
type valueCase[In, Want any] struct {
	name string
	in   In
	want Want
}

// assertEach runs each case as a parallel subtest asserting f(in) == want:
// the many tests of a pure function are each only a table.
func assertEach[In, Want any](t *testing.T, f func(In) Want, cases []valueCase[In, Want]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, f(tc.in))
		})
	}
}

// assertEachNoError is assertEach for a function that may fail: each case
// must succeed too.
func assertEachNoError[In, Want any](t *testing.T, f func(In) (Want, error), cases []valueCase[In, Want]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := f(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// decodeError is err as the *wire.DecodeError it must be, failing the test
// at once when it is not.
func decodeError(t *testing.T, err error) *wire.DecodeError {
	t.Helper()
	var de *wire.DecodeError
	require.ErrorAs(t, err, &de)
	return de
}
