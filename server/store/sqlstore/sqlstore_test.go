//go:build !wasm

package sqlstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/store"
	"tether/server/store/sqlstore"
)

// fakeRows yields ints, then err from Err.
type fakeRows struct {
	vals []int
	at   int
	err  error
}

func (r *fakeRows) Next() bool { r.at++; return r.at <= len(r.vals) }
func (r *fakeRows) Err() error { return r.err }
func (r *fakeRows) Scan(dst ...any) error {
	*dst[0].(*int) = r.vals[r.at-1]
	return nil
}

func scanInt(r sqlstore.Row) (n int, err error) { return n, r.Scan(&n) }

func TestCollect(t *testing.T) {
	t.Parallel()
	broken := errors.New("broken")
	tests := []struct {
		name string
		rows *fakeRows
		want []int
		err  error
	}{
		{"no row is an empty slice, not nil", &fakeRows{}, []int{}, nil},
		{"rows come in their order", &fakeRows{vals: []int{3, 1, 2}}, []int{3, 1, 2}, nil},
		{"an error of the result set is returned", &fakeRows{vals: []int{1}, err: broken}, nil, broken},
	}
	for _, tt := range tests {
		got, err := sqlstore.Collect(tt.rows, 8, scanInt)
		require.ErrorIs(t, err, tt.err, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestGateRefusesCallsOnceShutAndWaitsForThoseInFlight(t *testing.T) {
	t.Parallel()
	var g sqlstore.Gate
	require.NoError(t, g.Enter())
	shut := make(chan struct{})
	go func() {
		g.Shut()
		close(shut)
	}()
	select {
	case <-shut:
		t.Fatal("Shut returned with a call in flight")
	case <-time.After(50 * time.Millisecond):
	}
	g.Exit()
	<-shut
	assert.ErrorIs(t, g.Enter(), store.ErrClosed)
}

func TestRunSteps(t *testing.T) {
	t.Parallel()
	steps := []string{"one", "two", "three"}
	tests := []struct {
		name string
		from int
		ran  []string
		err  string
	}{
		{"a new database runs every step", 0, []string{"one", "two", "three"}, ""},
		{"an older one runs the missing steps", 1, []string{"two", "three"}, ""},
		{"an up-to-date one runs none", 3, nil, ""},
		{"a newer one is refused", 4, nil, "database schema version 4 is newer than this build (version 3)"},
	}
	for _, tt := range tests {
		var ran []string
		did, err := sqlstore.RunSteps(tt.from, steps, func(step string) error {
			ran = append(ran, step)
			return nil
		})
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, tt.name)
		} else {
			assert.NoError(t, err, tt.name)
		}
		assert.Equal(t, tt.ran, ran, tt.name)
		assert.Equal(t, tt.ran != nil, did, tt.name)
	}
	_, err := sqlstore.RunSteps(1, steps, func(step string) error { return errors.New("no") })
	assert.EqualError(t, err, "failed to run migration 2: no", "a failed step says which")
}

func TestFailedKeepsNotFoundAsItIs(t *testing.T) {
	t.Parallel()
	assert.NoError(t, sqlstore.Failed(nil, "read"))
	assert.Equal(t, store.ErrNotFound, sqlstore.Failed(store.ErrNotFound, "read"))
	assert.EqualError(t, sqlstore.Failed(errors.New("gone"), "read the booking of r1"), "failed to read the booking of r1: gone")
}
