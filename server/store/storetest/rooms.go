//go:build !wasm

package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store"
)

// RoomNames lists the rooms of infos in order, and checks that each comes
// with its last message. The stores' own tests of Rooms use it too.
func RoomNames(t *testing.T, infos []wire.RoomInfo) []string {
	t.Helper()
	for _, r := range infos {
		if assert.NotNil(t, r.Last, "room %s", r.Room) {
			assert.Equal(t, r.Room, r.Last.Room)
			assert.Equal(t, r.Head, r.Last.Seq, "room %s", r.Room)
		}
	}
	return Names(infos)
}

// Names lists the rooms of infos in order; empty, not nil, when there are
// none. The tests of the rooms API use it too.
func Names(infos []wire.RoomInfo) []string {
	out := []string{}
	for _, r := range infos {
		out = append(out, r.Room)
	}
	return out
}

// PlanCase is a query whose plan a store's test of its indexes checks: the
// plan must hold each of Want and none of NotWant, such as a scan of an
// index and not a sort.
type PlanCase struct {
	Name    string
	Query   string
	Args    []any
	Want    []string
	NotWant []string
}

// CheckPlans runs a subtest per case, with explain returning the lines of
// the case's query plan in the store's dialect.
func CheckPlans(t *testing.T, tests []PlanCase, explain func(t *testing.T, query string, args ...any) []string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			text := strings.Join(explain(t, tt.Query, tt.Args...), "\n")
			for _, w := range tt.Want {
				assert.Contains(t, text, w)
			}
			for _, w := range tt.NotWant {
				assert.NotContains(t, text, w)
			}
		})
	}
}

// mustAppend appends a new message to room and returns it.
func mustAppend(t *testing.T, st store.Store, room, clientID string) wire.Message {
	t.Helper()
	m, created, err := st.Append(context.Background(), msg(room, clientID))
	require.NoError(t, err)
	require.True(t, created)
	return m
}

// lastOf appends one message to each room in turn, so that the last room
// named is the most recently active, and returns each room's last message.
func lastOf(t *testing.T, st store.Store, rooms ...string) map[string]wire.Message {
	t.Helper()
	last := map[string]wire.Message{}
	for i, room := range rooms {
		last[room] = mustAppend(t, st, room, fmt.Sprintf("c%d", i))
	}
	return last
}

func (s suite) rooms(t *testing.T) {
	st := s.store(t)
	ctx := context.Background()

	none, err := st.Rooms(ctx, nil, 10)
	require.NoError(t, err)
	require.NotNil(t, none, "an empty store lists an empty, non-nil slice")
	assert.Empty(t, none)

	// a gets 3 messages, c 2 and b 1, interleaved; b, then c, then a get
	// their last one.
	last := lastOf(t, st, "a", "c", "a", "b", "c", "a")
	// A repeated client_id appends nothing, so b does not move up.
	_, created, err := st.Append(ctx, msg("b", "c3"))
	require.NoError(t, err)
	require.False(t, created)

	got, err := st.Rooms(ctx, nil, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "c", "b"}, RoomNames(t, got))
	assert.Equal(t, []int64{3, 2, 1}, []int64{got[0].Head, got[1].Head, got[2].Head})
	for _, r := range got {
		assert.Equal(t, last[r.Room], *r.Last, "room %s", r.Room)
	}

	tests := []struct {
		name  string
		limit int
		want  []string
	}{
		{name: "the limit keeps the most recently active", limit: 2, want: []string{"a", "c"}},
		{name: "a limit of exactly the rooms lists them all", limit: 3, want: []string{"a", "c", "b"}},
		{name: "a limit of 0 lists none", limit: 0, want: []string{}},
		{name: "a negative limit lists none", limit: -1, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Rooms(ctx, nil, tt.limit)
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, tt.want, RoomNames(t, got))
		})
	}

	// Another append moves its room to the front.
	bLast := mustAppend(t, st, "b", "again")
	got, err = st.Rooms(ctx, nil, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"b", "a", "c"}, RoomNames(t, got))
	assert.Equal(t, bLast, *got[0].Last)
	assert.Equal(t, int64(2), got[0].Head)
}

func (s suite) roomsNamed(t *testing.T) {
	st := s.store(t)
	ctx := context.Background()
	last := lastOf(t, st, "a", "b", "c", "d")
	tests := []struct {
		name  string
		only  []string
		limit int
		want  []string
	}{
		{name: "one room", only: []string{"b"}, limit: 10, want: []string{"b"}},
		{name: "several rooms come newest first, whatever their order", only: []string{"a", "d", "b"}, limit: 10, want: []string{"d", "b", "a"}},
		{name: "a room without messages is skipped", only: []string{"nope", "c"}, limit: 10, want: []string{"c"}},
		{name: "a repeated name lists its room once", only: []string{"a", "a", "c", "a"}, limit: 10, want: []string{"c", "a"}},
		{name: "the limit keeps the most recently active", only: []string{"a", "b", "c"}, limit: 2, want: []string{"c", "b"}},
		{name: "a limit of 0 lists none", only: []string{"a"}, limit: 0, want: []string{}},
		{name: "an empty list names no room", only: []string{}, limit: 10, want: []string{}},
		{name: "names that are no room list none", only: []string{"*", "", "x'; DROP TABLE rooms; --"}, limit: 10, want: []string{}},
		{name: "nil lists every room", only: nil, limit: 10, want: []string{"d", "c", "b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Rooms(ctx, tt.only, tt.limit)
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, tt.want, RoomNames(t, got))
			for _, r := range got {
				assert.Equal(t, last[r.Room], *r.Last)
			}
		})
	}
}
