//go:build !wasm

package integration_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/app"
	"tether/conn/wire"
	"tether/server/bookings"
	"tether/server/node"
)

// demo opens a dev-mode demo session (what a ?as= page does) in b's slot
// and returns the status and error code.
func (b *browser) demo(t *testing.T, m *node.Main, slot string, q url.Values) (int, string) {
	t.Helper()
	var ans struct {
		Token string    `json:"token"`
		User  wire.User `json:"user"`
		Error string    `json:"error"`
	}
	q.Set("slot", slot)
	status := call(t, b.client, m, "", http.MethodPost, "/api/dev/session?"+q.Encode(), "", &ans)
	if status == http.StatusOK {
		b.token, b.user = ans.Token, ans.User
	}
	return status, ans.Error
}

// renewIn renews the session of slot and returns the user of its token.
func (b *browser) renewIn(t *testing.T, m *node.Main, slot string) wire.User {
	t.Helper()
	var ans struct {
		Token string    `json:"token"`
		User  wire.User `json:"user"`
	}
	require.Equal(t, http.StatusOK, call(t, b.client, m, "", http.MethodPost, "/api/session/token?slot="+slot, "", &ans))
	b.token = ans.Token
	return b.me(t, m).User
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{client: &http.Client{Jar: jar}}
}

func TestDevModesAsMakesADemoBookingAndASession(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	ctx := testContext(t)

	// One browser, the two demo links in two tabs: each its own slot.
	tabs := newBrowser(t)
	status, _ := tabs.demo(t, m, "chat.r1", url.Values{"role": {"customer"}, "name": {"Casey"}, "user": {"customer-casey"}, "room": {"r1"}})
	require.Equal(t, http.StatusOK, status)
	casey := &browser{client: tabs.client, token: tabs.token}
	got := casey.me(t, m)
	require.Len(t, got.Bookings, 1, "the room became a demo booking")
	assert.Equal(t, "r1", got.Bookings[0].Room)
	assert.Equal(t, "Taylor", got.Bookings[0].Other.Name)
	assert.Equal(t, bookings.DemoTitle, got.Bookings[0].Title)

	status, _ = tabs.demo(t, m, "inbox", url.Values{"role": {"therapist"}, "name": {"Taylor"}, "user": {"therapist-taylor"}})
	require.Equal(t, http.StatusOK, status)
	taylor := &browser{client: tabs.client, token: tabs.token}
	got = taylor.me(t, m)
	rooms := map[string]string{}
	for _, b := range got.Bookings {
		rooms[b.Room] = b.Other.Name
	}
	assert.Equal(t, map[string]string{"r1": "Casey", bookings.DemoRoom: "Casey"}, rooms,
		"the demo therapist's bookings: the customer's room, and the demo booking their session opened in")

	// The cookies of the two slots renew their own users: the second
	// session did not replace the first.
	assert.Equal(t, "customer-casey", casey.renewIn(t, m, "chat.r1").ID)
	assert.Equal(t, "therapist-taylor", taylor.renewIn(t, m, "inbox").ID)

	// Messages both ways on the renewed tokens.
	caseyWS := dial(t, m, casey.token)
	talk(t, caseyWS, dial(t, m, taylor.token), "r1", "c1", "hello Taylor")

	// A second demo customer in the same room (not its booking's) is let
	// in, as dev tokens let them; into another room they are not.
	guest := newBrowser(t)
	status, _ = guest.demo(t, m, "chat.r1", url.Values{"role": {"customer"}, "name": {"Guest"}, "user": {"customer-guest"}, "room": {"r1"}})
	require.Equal(t, http.StatusOK, status)
	assert.Empty(t, guest.me(t, m).Bookings, "the room's booking is Casey's")
	guestWS := dial(t, m, guest.token)
	_, err := guestWS.SubscribeAndWait(ctx, "r1", 0)
	require.NoError(t, err)
	_, err = guestWS.SendAndAck(ctx, "r1", "g1", "a guest too")
	require.NoError(t, err)
	msgs, err := caseyWS.NextMessages(ctx, "r1", 2)
	require.NoError(t, err)
	assert.Equal(t, "a guest too", msgs[len(msgs)-1].Body)
	_, err = guestWS.SubscribeAndWait(ctx, bookings.DemoRoom, 0)
	requireFrameError(t, err, wire.CodeForbidden, bookings.DemoRoom)

	// The demo therapist sees every room, as dev mode's therapists do.
	var list wire.RoomsPage
	_, err = httpClient(m, taylor.token).Do(ctx, http.MethodGet, "/api/rooms", nil, &list)
	require.NoError(t, err)
	var listed []string
	for _, r := range list.Rooms {
		listed = append(listed, r.Room)
	}
	assert.Contains(t, listed, "r1")

	// Pages of one new room opened at once make one booking.
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			role := "customer"
			if i%2 == 1 {
				role = "therapist"
			}
			b := newBrowser(t)
			statuses[i], _ = b.demo(t, m, "chat.r2", url.Values{"role": {role}, "room": {"r2"}})
		}()
	}
	wg.Wait()
	assert.Equal(t, []int{200, 200, 200, 200}, statuses)

	// Bad requests.
	bad := newBrowser(t)
	for _, tt := range []struct {
		name string
		slot string
		q    url.Values
	}{
		{"a customer without a room", "chat.x", url.Values{"role": {"customer"}}},
		{"a slot that is no cookie name", "chat/x", url.Values{"role": {"therapist"}}},
		{"a role that is none", "inbox", url.Values{"role": {"admin"}}},
		{"a room that is not one", "inbox", url.Values{"role": {"therapist"}, "room": {"../x"}}},
	} {
		status, code := bad.demo(t, m, tt.slot, tt.q)
		assert.Equal(t, http.StatusBadRequest, status, tt.name)
		assert.Equal(t, wire.CodeBadFrame, code, tt.name)
	}
}

func TestTheDemoRoomIsTheOneTheHomePageLinksTo(t *testing.T) {
	assert.Equal(t, app.DemoRoom, bookings.DemoRoom)
}

func TestDemoSessionsAreDevModeOnly(t *testing.T) {
	t.Parallel()
	m := production(t)
	status, code := newBrowser(t).demo(t, m, "inbox", url.Values{"role": {"therapist"}})
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, wire.CodeNotFound, code)
}
