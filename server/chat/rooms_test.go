//go:build !wasm

package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/api"
	"tether/server/auth"
	"tether/server/chat"
	"tether/server/metrics"
	"tether/server/store"
	"tether/server/store/sqlite"
	"tether/server/store/storetest"
)

var secret = []byte("a-test-secret-of-at-least-32-bytes-long")

// roomsServer is the API of a hub over a fresh SQLite store.
type roomsServer struct {
	api   http.Handler
	auth  *auth.Auth
	store *sqlite.Store
}

func newRoomsServer(t *testing.T, dev bool) *roomsServer {
	t.Helper()
	a, err := auth.New(secret, auth.Options{AllowAllRooms: dev})
	require.NoError(t, err)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	hub := chat.NewHub(chat.Config{}, st, a, nil, metrics.New(), slog.New(slog.DiscardHandler))
	return &roomsServer{api: api.New(api.Config{Hub: hub, Auth: a, Dev: dev}), auth: a, store: st}
}

// token signs a token of a therapist for rooms.
func (s *roomsServer) token(t *testing.T, rooms ...string) string {
	t.Helper()
	tok, err := s.auth.Issue(wire.User{ID: "taylor", Name: "Taylor", Role: wire.RoleTherapist}, rooms, time.Hour)
	require.NoError(t, err)
	return tok
}

// post stores a message in room and returns it.
func (s *roomsServer) post(t *testing.T, room, body string) wire.Message {
	t.Helper()
	m, _, err := s.store.Append(context.Background(), store.NewMessage{
		Room: room, ID: room + "-" + body, ClientID: body, Body: body, SentAt: time.Now().UnixMilli(),
		Sender: wire.User{ID: "casey", Name: "Casey", Role: wire.RoleCustomer},
	})
	require.NoError(t, err)
	return m
}

// get answers GET path with the token tok ("" for none).
func (s *roomsServer) get(t *testing.T, path, tok string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, r)
	return w
}

// rooms reads a 200 answer's rooms by name.
func rooms(t *testing.T, w *httptest.ResponseRecorder) []wire.RoomInfo {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	var page wire.RoomsPage
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
	require.NotNil(t, page.Rooms, `"rooms" is a list, never null: %s`, w.Body)
	return page.Rooms
}

func TestServeRoomsListsTheRoomsOfTheToken(t *testing.T) {
	t.Parallel()
	s := newRoomsServer(t, false)
	s.post(t, "r1", "one")
	s.post(t, "r2", "two")
	last := s.post(t, "r1", "three")
	s.post(t, "r3", "four")

	tests := []struct {
		name  string
		rooms []string
		path  string
		want  []string
	}{
		{name: "a token with one room sees only that room", rooms: []string{"r1"}, path: "/api/rooms", want: []string{"r1"}},
		{name: "a token's rooms come newest first", rooms: []string{"r1", "r2", "r3"}, path: "/api/rooms", want: []string{"r3", "r1", "r2"}},
		{name: "a room without messages is not listed", rooms: []string{"r2", "empty"}, path: "/api/rooms", want: []string{"r2"}},
		{name: "a token without rooms sees none", rooms: nil, path: "/api/rooms", want: []string{}},
		{name: "every room is not honoured outside dev mode", rooms: []string{auth.AllRooms}, path: "/api/rooms", want: []string{}},
		{name: "the limit keeps the newest", rooms: []string{"r1", "r2", "r3"}, path: "/api/rooms?limit=2", want: []string{"r3", "r1"}},
		{name: "the largest limit is accepted", rooms: []string{"r2"}, path: "/api/rooms?limit=500", want: []string{"r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := rooms(t, s.get(t, tt.path, s.token(t, tt.rooms...)))
			assert.Equal(t, tt.want, storetest.Names(got))
		})
	}

	t.Run("each room comes with its head and last message", func(t *testing.T) {
		t.Parallel()
		got := rooms(t, s.get(t, "/api/rooms", s.token(t, "r1")))
		require.Len(t, got, 1)
		assert.Equal(t, wire.RoomInfo{Room: "r1", Head: 2, Last: &last}, got[0])
	})

	t.Run("no room is the empty list in JSON", func(t *testing.T) {
		t.Parallel()
		w := s.get(t, "/api/rooms", s.token(t, "empty"))
		require.Equal(t, http.StatusOK, w.Code)
		assert.JSONEq(t, `{"rooms":[]}`, w.Body.String())
	})
}

func TestServeRoomsWithEveryRoomInDevMode(t *testing.T) {
	t.Parallel()
	s := newRoomsServer(t, true)
	for i := range 5 {
		s.post(t, fmt.Sprintf("r%d", i), "hi")
	}
	s.post(t, "r2", "again")
	tok := s.token(t, auth.AllRooms)
	got := rooms(t, s.get(t, "/api/rooms", tok))
	assert.Equal(t, []string{"r2", "r4", "r3", "r1", "r0"}, storetest.Names(got))
	require.NotNil(t, got[0].Last)
	assert.Equal(t, "again", got[0].Last.Body)
	assert.Equal(t, int64(2), got[0].Head)
	assert.Equal(t, []string{"r2", "r4"}, storetest.Names(rooms(t, s.get(t, "/api/rooms?limit=2", tok))))
}

func TestServeRoomsRefusesBadRequests(t *testing.T) {
	t.Parallel()
	s := newRoomsServer(t, true)
	s.post(t, "r1", "hi")
	past, err := auth.New(secret, auth.Options{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	require.NoError(t, err)
	expired, err := past.Issue(wire.User{ID: "taylor", Name: "Taylor", Role: wire.RoleTherapist}, []string{"r1"}, time.Minute)
	require.NoError(t, err)
	good := s.token(t, "r1")

	tests := []struct {
		name    string
		path    string
		token   string
		status  int
		code    string
		message string
	}{
		{name: "no token is 401", path: "/api/rooms", status: 401, code: wire.CodeUnauthorized, message: "Bearer token is required"},
		{name: "a bad token is 401", path: "/api/rooms", token: "not-a-token", status: 401, code: wire.CodeUnauthorized, message: "invalid token"},
		{name: "a token of another secret is 401", path: "/api/rooms", token: good[:len(good)-4] + "AAAA", status: 401, code: wire.CodeUnauthorized, message: "invalid token"},
		{name: "an expired token is 401", path: "/api/rooms", token: expired, status: 401, code: wire.CodeUnauthorized, message: "token expired"},
		{name: "a limit of 0 is 400", path: "/api/rooms?limit=0", token: good, status: 400, code: wire.CodeBadFrame, message: "limit"},
		{name: "a limit over 500 is 400", path: "/api/rooms?limit=501", token: good, status: 400, code: wire.CodeBadFrame, message: "limit"},
		{name: "a limit that is no number is 400", path: "/api/rooms?limit=ten", token: good, status: 400, code: wire.CodeBadFrame, message: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := s.get(t, tt.path, tt.token)
			require.Equal(t, tt.status, w.Code, "body %s", w.Body)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			if tt.status == http.StatusUnauthorized {
				assert.True(t, strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer"))
			}
			var body wire.ErrorBody
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.Equal(t, tt.code, body.Code)
			assert.Contains(t, body.Message, tt.message)
		})
	}

	t.Run("a POST is 405 with the JSON error", func(t *testing.T) {
		t.Parallel()
		r := httptest.NewRequest(http.MethodPost, "/api/rooms", nil)
		r.Header.Set("Authorization", "Bearer "+good)
		w := httptest.NewRecorder()
		s.api.ServeHTTP(w, r)
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		assert.Contains(t, w.Body.String(), `"error":"method_not_allowed"`)
	})
}

func TestServeRoomsAnswers503WhenTheStoreFails(t *testing.T) {
	t.Parallel()
	s := newRoomsServer(t, false)
	s.post(t, "r1", "hi")
	tok := s.token(t, "r1")
	require.NoError(t, s.store.Close())
	w := s.get(t, "/api/rooms", tok)
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), `"error":"internal"`)
}
