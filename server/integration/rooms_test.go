//go:build !wasm

package integration_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/node"
	"tether/server/store/storetest"
)

// The therapist's inbox against the real server: GET /api/rooms lists the
// rooms a token may see that hold messages, the most recently active first.

// listRooms reads GET /api/rooms (with query, e.g. "?limit=2") as tok.
func listRooms(t *testing.T, m *node.Main, tok, query string) ([]wire.RoomInfo, error) {
	t.Helper()
	var page wire.RoomsPage
	_, err := httpClient(m, tok).Do(testContext(t), http.MethodGet, "/api/rooms"+query, nil, &page)
	if err == nil {
		require.NotNil(t, page.Rooms, `"rooms" is a list, never null`)
	}
	return page.Rooms, err
}

func TestTheInboxListsTheRoomsWithMessagesNewestFirst(t *testing.T) {
	t.Parallel()
	m := startNode(t, unlimited)
	ctx := testContext(t)

	// Three booking rooms with messages, sent over HTTP and WebSocket, and
	// one a customer joined without writing in.
	alex := httpClient(m, token(t, m, "booking-a", "alex", wire.RoleCustomer))
	blair := join(t, m, "booking-b", "blair", wire.RoleCustomer)
	casey := httpClient(m, token(t, m, "booking-c", "casey", wire.RoleCustomer))
	quiet := join(t, m, "booking-quiet", "dana", wire.RoleCustomer)
	_, _, err := alex.Post(ctx, "booking-a", "a1", "first in a")
	require.NoError(t, err)
	_, err = blair.ws.SendAndAck(ctx, "booking-b", "b1", "first in b")
	require.NoError(t, err)
	_, _, err = casey.Post(ctx, "booking-c", "c1", "first in c")
	require.NoError(t, err)
	aLast, _, err := alex.Post(ctx, "booking-a", "a2", "second in a")
	require.NoError(t, err)

	therapist := token(t, m, "", "taylor", wire.RoleTherapist) // "*": every room, dev mode

	t.Run("a dev therapist with every room sees each room with messages, newest first, with its last message", func(t *testing.T) {
		got, err := listRooms(t, m, therapist, "")
		require.NoError(t, err)
		require.Equal(t, []string{"booking-a", "booking-c", "booking-b"}, storetest.Names(got))
		a := got[0]
		assert.Equal(t, int64(2), a.Head)
		require.NotNil(t, a.Last)
		assert.Equal(t, wire.Message{
			Room: "booking-a", Seq: 2, ID: a.Last.ID, ClientID: "a2",
			Sender: wire.User{ID: "alex", Name: "Alex", Role: wire.RoleCustomer},
			Body:   "second in a", SentAt: aLast.SentAt,
		}, *a.Last)
		assert.NotEmpty(t, a.Last.ID)
		for _, r := range got {
			require.NotNil(t, r.Last, r.Room)
			assert.Equal(t, r.Head, r.Last.Seq, r.Room)
		}
	})

	t.Run("a customer with one room sees only that room", func(t *testing.T) {
		got, err := listRooms(t, m, casey.Token, "")
		require.NoError(t, err)
		require.Equal(t, []string{"booking-c"}, storetest.Names(got))
		assert.Equal(t, "first in c", got[0].Last.Body)
	})

	t.Run("a room with no messages is not listed", func(t *testing.T) {
		got, err := listRooms(t, m, quiet.tok, "")
		require.NoError(t, err)
		assert.Empty(t, got)
		all, err := listRooms(t, m, therapist, "")
		require.NoError(t, err)
		assert.NotContains(t, storetest.Names(all), "booking-quiet")
	})

	t.Run("the limit keeps the most recently active", func(t *testing.T) {
		got, err := listRooms(t, m, therapist, "?limit=2")
		require.NoError(t, err)
		assert.Equal(t, []string{"booking-a", "booking-c"}, storetest.Names(got))
	})

	t.Run("a bad token is 401", func(t *testing.T) {
		_, err := listRooms(t, m, "not-a-token", "")
		requireHTTPError(t, err, http.StatusUnauthorized, wire.CodeUnauthorized)
		_, err = listRooms(t, m, "", "")
		requireHTTPError(t, err, http.StatusUnauthorized, wire.CodeUnauthorized)
	})

	t.Run("a limit out of range is 400", func(t *testing.T) {
		_, err := listRooms(t, m, therapist, "?limit=501")
		requireHTTPError(t, err, http.StatusBadRequest, wire.CodeBadFrame)
	})

	t.Run("a new message moves its room to the front", func(t *testing.T) {
		_, err := blair.ws.SendAndAck(ctx, "booking-b", "b2", "back in b")
		require.NoError(t, err)
		got, err := listRooms(t, m, therapist, "")
		require.NoError(t, err)
		require.Equal(t, []string{"booking-b", "booking-a", "booking-c"}, storetest.Names(got))
		assert.Equal(t, "back in b", got[0].Last.Body)
	})

	t.Run("the store reads are measured", func(t *testing.T) {
		assert.Positive(t, metric(t, m, `tether_store_seconds_count{op="rooms"}`))
	})
}

func TestTheInboxHonoursEveryRoomInDevModeOnly(t *testing.T) {
	t.Parallel()
	secret := []byte("an-integration-secret-of-32-bytes-at-least")
	m := startNode(t, func(m *node.Main) {
		m.Dev = false
		m.Secret = secret
	})
	ctx := testContext(t)
	a, err := auth.New(secret, auth.Options{})
	require.NoError(t, err)
	issue := func(rooms ...string) string {
		tok, err := a.Issue(wire.User{ID: "taylor", Name: "Taylor", Role: wire.RoleTherapist}, rooms, time.Hour)
		require.NoError(t, err)
		return tok
	}
	_, _, err = httpClient(m, issue("booking-1")).Post(ctx, "booking-1", "c1", "hello")
	require.NoError(t, err)

	got, err := listRooms(t, m, issue(auth.AllRooms), "")
	require.NoError(t, err)
	assert.Empty(t, got, `"*" means no room outside dev mode`)
	got, err = listRooms(t, m, issue("booking-1"), "")
	require.NoError(t, err)
	assert.Equal(t, []string{"booking-1"}, storetest.Names(got))
}
