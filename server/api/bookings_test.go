//go:build !wasm

package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/api"
	"tether/server/bookings"
	"tether/server/store"
	"tether/server/store/sqlite"
)

const apiKey = "operator-key-0123456789abcdef0123456789"

// operator is an API with the operator routes on a SQLite store, and the
// revocations and cancellations it reported.
type operator struct {
	srv       *httptest.Server
	store     *sqlite.Store
	revoked   [][]byte
	cancelled []string
}

func newOperator(t *testing.T, key string) *operator {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	o := &operator{store: st}
	h := api.New(api.Config{
		Bookings: bookings.New(st, []byte("a secret of at least thirty-two bytes!"), "https://chat.example.com"),
		APIKey:   key,
		OnRevoke: func(ids [][]byte) { o.revoked = append(o.revoked, ids...) },
		OnCancel: func(room string) { o.cancelled = append(o.cancelled, room) },
		Logger:   slog.New(slog.DiscardHandler),
	})
	o.srv = httptest.NewServer(h)
	t.Cleanup(o.srv.Close)
	return o
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

// do sends method path with body and the key (none when key is empty).
func (o *operator) do(t *testing.T, key, method, path, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, o.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	a := answer{status: res.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

// code is the error code of an error answer.
func (a answer) code() string {
	c, _ := a.body["error"].(string)
	return c
}

const booking = `{"id":"b-123","customer":{"id":"c-1","name":"Ann"},"provider":{"id":"p-7","name":"Tess","kind":"therapist"},` +
	`"title":"Deep tissue, 60 min","starts_at":"2026-12-03T10:00:00Z","ends_at":"2026-12-03T11:00:00Z","place":"Main St 5"}`

func TestTheOperatorAPIIsOffWithoutAKey(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "too-short"} {
		o := newOperator(t, key)
		a := o.do(t, key, http.MethodPost, "/api/bookings", booking)
		assert.Equal(t, http.StatusNotFound, a.status, "key %q", key)
	}
}

func TestABookingIsCreatedOnceWithItsTwoLinks(t *testing.T) {
	t.Parallel()
	o := newOperator(t, apiKey)
	first := o.do(t, apiKey, http.MethodPost, "/api/bookings", booking)
	require.Equal(t, http.StatusCreated, first.status, first.raw)
	b := first.body["booking"].(map[string]any)
	assert.Equal(t, "b-123", b["room"])
	assert.Equal(t, "active", b["status"])
	assert.Equal(t, "2026-12-03T10:00:00Z", b["starts_at"])
	links := first.body["links"].(map[string]any)
	assert.Regexp(t, `^https://chat\.example\.com/chat/b-123#invite=[A-Za-z0-9_-]{22}$`, links["customer"])
	assert.Regexp(t, `^https://chat\.example\.com/therapist#invite=[A-Za-z0-9_-]{22}$`, links["provider"])
	assert.NotEqual(t, links["customer"], links["provider"])

	// The same request again: 200 and the same answer, links included.
	again := o.do(t, apiKey, http.MethodPost, "/api/bookings", booking)
	assert.Equal(t, http.StatusOK, again.status)
	assert.JSONEq(t, first.raw, again.raw)
	got := o.do(t, apiKey, http.MethodGet, "/api/bookings/b-123", "")
	assert.Equal(t, http.StatusOK, got.status)
	assert.JSONEq(t, first.raw, got.raw)

	// The invites are kept hashed: no code is in the database.
	stored, err := o.store.Booking(t.Context(), "b-123")
	require.NoError(t, err)
	code := strings.SplitN(links["customer"].(string), "#invite=", 2)[1]
	assert.NotContains(t, string(stored.CustomerInvite), code)
}

func TestTheOperatorAPIRefusesBadInputsAndStoresNothing(t *testing.T) {
	t.Parallel()
	o := newOperator(t, apiKey)
	with := func(edit func(m map[string]any)) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(booking), &m))
		edit(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	for _, tt := range []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"no key", "", booking, 401, "unauthorized"},
		{"a wrong key", apiKey[:len(apiKey)-1] + "X", booking, 401, "unauthorized"},
		{"not JSON", apiKey, "{", 400, "invalid_booking"},
		{"an unknown field", apiKey, with(func(m map[string]any) { m["titel"] = "x" }), 400, "invalid_booking"},
		{"two values", apiKey, booking + booking, 400, "invalid_booking"},
		{"a start that is no time", apiKey, with(func(m map[string]any) { m["starts_at"] = "tomorrow" }), 400, "invalid_booking"},
		{"an end before the start", apiKey, with(func(m map[string]any) { m["ends_at"] = "2026-12-03T09:00:00Z" }), 400, "invalid_booking"},
		{"an id that is not a room name", apiKey, with(func(m map[string]any) { m["id"] = "../etc" }), 400, "invalid_booking"},
		{"no customer name", apiKey, with(func(m map[string]any) { m["customer"] = map[string]any{"id": "c-1"} }), 400, "invalid_booking"},
		{"a provider of no kind", apiKey, with(func(m map[string]any) { m["provider"] = map[string]any{"id": "p-7", "name": "Tess"} }), 400, "invalid_booking"},
		{"the same user on both sides", apiKey, with(func(m map[string]any) { m["provider"] = map[string]any{"id": "c-1", "name": "Ann", "kind": "place"} }), 400, "invalid_booking"},
		{"a control character", apiKey, with(func(m map[string]any) { m["title"] = "a\u0007b" }), 400, "invalid_booking"},
		{"a body over 16 KiB", apiKey, with(func(m map[string]any) { m["place"] = strings.Repeat("x", 17<<10) }), 413, "too_large"},
	} {
		a := o.do(t, tt.key, http.MethodPost, "/api/bookings", tt.body)
		assert.Equal(t, tt.status, a.status, "%s: %s", tt.name, a.raw)
		assert.Equal(t, tt.code, a.code(), tt.name)
		assert.NotEmpty(t, a.body["message"], tt.name)
	}
	for _, room := range []string{"b-123", "etc"} {
		_, err := o.store.Booking(t.Context(), room)
		assert.ErrorIs(t, err, store.ErrNotFound, "nothing stored")
	}

	// The same id with another body conflicts, and the first stands.
	require.Equal(t, http.StatusCreated, o.do(t, apiKey, http.MethodPost, "/api/bookings", booking).status)
	a := o.do(t, apiKey, http.MethodPost, "/api/bookings", with(func(m map[string]any) { m["title"] = "Another" }))
	assert.Equal(t, http.StatusConflict, a.status)
	assert.Equal(t, "conflict", a.code())
	stored, err := o.store.Booking(t.Context(), "b-123")
	require.NoError(t, err)
	assert.Equal(t, "Deep tissue, 60 min", stored.Title)

	// Unknown bookings, and a side that is neither.
	for _, r := range [][2]string{{"GET", "/api/bookings/b-404"}, {"POST", "/api/bookings/b-404/cancel"}, {"POST", "/api/bookings/b-404/revoke"}, {"GET", "/api/bookings/..%2Fx"}} {
		a := o.do(t, apiKey, r[0], r[1], `{"participant":"customer"}`)
		assert.Equal(t, http.StatusNotFound, a.status, r[1])
		assert.Equal(t, "not_found", a.code(), r[1])
	}
	a = o.do(t, apiKey, http.MethodPost, "/api/bookings/b-123/revoke", `{"participant":"therapist"}`)
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, "invalid_booking", a.code())
	a = o.do(t, apiKey, http.MethodGet, "/api/bookings/b-123/cancel", "")
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
	assert.Empty(t, o.cancelled)
	assert.Empty(t, o.revoked)
}

func TestCancelAndRevoke(t *testing.T) {
	t.Parallel()
	o := newOperator(t, apiKey)
	require.Equal(t, http.StatusCreated, o.do(t, apiKey, http.MethodPost, "/api/bookings", booking).status)
	// A session opened with the customer's invite, to be ended.
	b, err := o.store.Booking(t.Context(), "b-123")
	require.NoError(t, err)
	sess := store.Session{ID: []byte("session-hash"), User: b.Customer, Room: b.Room, Participant: store.Customer, Created: b.Created, Expires: b.Created.Add(1e12)}
	require.NoError(t, o.store.PutSession(t.Context(), sess))

	a := o.do(t, apiKey, http.MethodPost, "/api/bookings/b-123/revoke", `{"participant":"customer"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Equal(t, float64(1), a.body["ended_sessions"])
	assert.Equal(t, []any{"customer"}, a.body["booking"].(map[string]any)["revoked"])
	assert.Equal(t, [][]byte{[]byte("session-hash")}, o.revoked, "the live sockets are told")
	got := o.do(t, apiKey, http.MethodGet, "/api/bookings/b-123", "")
	links := got.body["links"].(map[string]any)
	assert.Empty(t, links["customer"], "a revoked side has no link")
	assert.NotEmpty(t, links["provider"])

	a = o.do(t, apiKey, http.MethodPost, "/api/bookings/b-123/cancel", "")
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Equal(t, "cancelled", a.body["booking"].(map[string]any)["status"])
	assert.Equal(t, []string{"b-123"}, o.cancelled)
}
