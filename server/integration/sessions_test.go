//go:build !wasm

package integration_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/node"
)

const operatorKey = "an operator key of at least 32 bytes!!"

// production is a node without -dev or -faults, with the operator API on.
func production(t *testing.T) *node.Main {
	return startNode(t, func(m *node.Main) {
		m.Dev, m.Faults = false, false
		m.Secret = []byte("a production secret of at least 32 bytes")
		m.APIKey = operatorKey
	})
}

// call sends method path with a JSON body through client (with the
// operator key when key is set) and decodes the answer into out.
func call(t *testing.T, client *http.Client, m *node.Main, key, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, m.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if out != nil {
		json.Unmarshal(raw, out)
	}
	return res.StatusCode
}

type created struct {
	Links struct{ Customer, Provider string } `json:"links"`
}

// book creates a booking of provider p-7 with customer and returns the
// invite codes of both sides.
func book(t *testing.T, m *node.Main, id, customer, start string) (customerCode, providerCode string) {
	t.Helper()
	var c created
	starts, err := time.Parse(time.RFC3339, start)
	require.NoError(t, err)
	end := starts.Add(time.Hour).Format(time.RFC3339)
	body := `{"id":"` + id + `","customer":{"id":"` + customer + `","name":"Ann"},"provider":{"id":"p-7","name":"Tess","kind":"therapist"},` +
		`"title":"Deep tissue","starts_at":"` + start + `","ends_at":"` + end + `","place":"Main St 5"}`
	require.Equal(t, http.StatusCreated, call(t, http.DefaultClient, m, operatorKey, http.MethodPost, "/api/bookings", body, &c))
	code := func(link string) string { return link[strings.Index(link, "#invite=")+len("#invite="):] }
	return code(c.Links.Customer), code(c.Links.Provider)
}

type browser struct {
	client *http.Client
	token  string
	user   wire.User
}

// signIn opens a session with an invite code in a browser of its own (a
// cookie jar).
func signIn(t *testing.T, m *node.Main, code string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	b := &browser{client: &http.Client{Jar: jar}}
	var ans struct {
		Token     string    `json:"token"`
		ExpiresIn int64     `json:"expires_in"`
		User      wire.User `json:"user"`
	}
	require.Equal(t, http.StatusOK, call(t, b.client, m, "", http.MethodPost, "/api/session", `{"invite":"`+code+`"}`, &ans))
	require.NotEmpty(t, ans.Token)
	assert.Equal(t, int64(900), ans.ExpiresIn, "15 minutes by default")
	b.token, b.user = ans.Token, ans.User
	return b
}

// renew asks for a fresh token with the session's cookie; it returns the
// status and the error code, if any.
func (b *browser) renew(t *testing.T, m *node.Main) (int, string) {
	var ans struct {
		Token string `json:"token"`
		Error string `json:"error"`
	}
	status := call(t, b.client, m, "", http.MethodPost, "/api/session/token", "", &ans)
	if status == http.StatusOK {
		b.token = ans.Token
	}
	return status, ans.Error
}

type me struct {
	User     wire.User `json:"user"`
	Bookings []struct {
		Room  string    `json:"room"`
		Title string    `json:"title"`
		Other wire.User `json:"other"`
	} `json:"bookings"`
}

func (b *browser) me(t *testing.T, m *node.Main) me {
	var out me
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, m.URL()+"/api/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return out
}

func TestSessionsOfInvitesWithoutDevMode(t *testing.T) {
	t.Parallel()
	m := production(t)
	ctx := testContext(t)
	custCode, provCode := book(t, m, "b-1", "c-1", "2029-06-01T10:00:00Z")

	ann := signIn(t, m, custCode)
	assert.Equal(t, wire.User{ID: "c-1", Name: "Ann", Role: wire.RoleCustomer}, ann.user)
	tess := signIn(t, m, provCode)
	assert.Equal(t, wire.RoleTherapist, tess.user.Role)

	// Both into the booking's room: messages both ways.
	annWS := dial(t, m, ann.token)
	tessWS := dial(t, m, tess.token)
	talk(t, annWS, tessWS, "b-1", "a1", "hello Tess")

	// A stranger's room is closed to a session's token.
	_, err := annWS.SubscribeAndWait(ctx, "b-other", 0)
	requireFrameError(t, err, wire.CodeForbidden, "b-other")

	// /api/me: the booking with the other party.
	got := ann.me(t, m)
	require.Len(t, got.Bookings, 1)
	assert.Equal(t, "Tess", got.Bookings[0].Other.Name)

	// A booking made later is the provider's at once: listed and open to
	// the token it already holds.
	book(t, m, "b-2", "c-2", "2029-05-01T10:00:00Z")
	rooms := []string{}
	for _, b := range tess.me(t, m).Bookings {
		rooms = append(rooms, b.Room)
	}
	assert.Equal(t, []string{"b-2", "b-1"}, rooms, "the soonest first")
	_, err = tessWS.SubscribeAndWait(ctx, "b-2", 0)
	require.NoError(t, err)

	// Renewal with the cookie: a fresh token of the same user.
	status, _ := ann.renew(t, m)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, annWS.Write(ctx, &wire.Auth{Token: ann.token}))
	_, err = annWS.NextMatch(ctx, func(f wire.Frame) bool { _, ok := f.(*wire.Authed); return ok })
	require.NoError(t, err)

	// Cancel: the subscribed sockets hear it; a send is refused.
	require.Equal(t, http.StatusOK, call(t, http.DefaultClient, m, operatorKey, http.MethodPost, "/api/bookings/b-1/cancel", "", nil))
	f, err := annWS.NextMatch(ctx, func(f wire.Frame) bool { e, ok := f.(*wire.ErrorFrame); return ok && e.Code == wire.CodeCancelled })
	require.NoError(t, err)
	assert.Equal(t, "b-1", f.(*wire.ErrorFrame).Ref)
	_, err = annWS.SendAndAck(ctx, "b-1", "a2", "after the cancel")
	requireFrameError(t, err, wire.CodeCancelled, "a2")
	history, err := httpClient(m, ann.token).History(ctx, "b-1", 0, 50)
	require.NoError(t, err)
	assert.Len(t, history.Messages, 1, "a cancelled chat is still read")

	// Revoke the customer: their socket closes 4403, their session and
	// invite open nothing; the provider goes on.
	require.Equal(t, http.StatusOK, call(t, http.DefaultClient, m, operatorKey, http.MethodPost, "/api/bookings/b-1/revoke", `{"participant":"customer"}`, nil))
	requireClosed(t, annWS, wire.CloseForbidden)
	status, code := ann.renew(t, m)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, wire.CodeRevoked, code)
	var e struct{ Error string }
	assert.Equal(t, http.StatusUnauthorized, call(t, http.DefaultClient, m, "", http.MethodPost, "/api/session", `{"invite":"`+custCode+`"}`, &e))
	assert.Equal(t, wire.CodeRevoked, e.Error)
	_, err = tessWS.PingPong(ctx, 1)
	require.NoError(t, err)
	status, _ = tess.renew(t, m)
	assert.Equal(t, http.StatusOK, status)
}

func TestSessionRoutesRefuseBadInputs(t *testing.T) {
	t.Parallel()
	m := production(t)
	book(t, m, "b-1", "c-1", "2029-06-01T10:00:00Z")
	var e struct{ Error string }
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"an unknown invite", http.MethodPost, "/api/session", `{"invite":"nope"}`, 404, wire.CodeNotFound},
		{"no invite", http.MethodPost, "/api/session", `{}`, 400, wire.CodeBadFrame},
		{"not JSON", http.MethodPost, "/api/session", `{`, 400, wire.CodeBadFrame},
		{"a body over 4 KiB", http.MethodPost, "/api/session", `{"invite":"` + strings.Repeat("x", 5000) + `"}`, 400, wire.CodeBadFrame},
		{"a renewal without a cookie", http.MethodPost, "/api/session/token", "", 401, wire.CodeSessionExpired},
		{"a renewal in a slot without a cookie", http.MethodPost, "/api/session/token?slot=chat.b-1", "", 401, wire.CodeSessionExpired},
		{"a slot that is no cookie name", http.MethodPost, "/api/session/token?slot=a%3Bb", "", 400, wire.CodeBadFrame},
		{"a slot over 80 bytes", http.MethodPost, "/api/session?slot=" + strings.Repeat("s", 81), `{"invite":"nope"}`, 400, wire.CodeBadFrame},
		{"the demo route of dev mode", http.MethodPost, "/api/dev/session?role=therapist", "", 404, wire.CodeNotFound},
		{"me without a token", http.MethodGet, "/api/me", "", 401, wire.CodeUnauthorized},
	} {
		e.Error = ""
		assert.Equal(t, tt.status, call(t, http.DefaultClient, m, "", tt.method, tt.path, tt.body, &e), tt.name)
		assert.Equal(t, tt.code, e.Error, tt.name)
	}

	// A cookie of no session, and one of a session that logged out.
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/session/token", nil)
	req.AddCookie(&http.Cookie{Name: "tether_session", Value: "made-up"})
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)

	custCode, _ := book(t, m, "b-2", "c-2", "2029-06-01T10:00:00Z")
	ann := signIn(t, m, custCode)
	assert.Equal(t, http.StatusNoContent, call(t, ann.client, m, "", http.MethodDelete, "/api/session", "", nil))
	status, code := ann.renew(t, m)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, []string{wire.CodeRevoked, wire.CodeSessionExpired}, code)

	// The session cookie is HttpOnly, SameSite=Strict, on /api/session.
	res, err = http.Post(m.URL()+"/api/session", "application/json", bytes.NewReader([]byte(`{"invite":"`+custCode+`"}`)))
	require.NoError(t, err)
	res.Body.Close()
	setCookie := res.Header.Get("Set-Cookie")
	for _, want := range []string{"tether_session=", "Path=/api/session", "HttpOnly", "SameSite=Strict", "Max-Age=2592000"} {
		assert.Contains(t, setCookie, want)
	}
}

// A booking's link opens a session each time, each kept for 30 days: a
// link replayed in a loop is refused after a burst, with 429 and when to
// try again, while the other side's link and the sessions already open go
// on.
func TestALinkOpensABurstOfSessionsThenWaits(t *testing.T) {
	t.Parallel()
	m := production(t)
	custCode, provCode := book(t, m, "b-1", "c-1", "2029-06-01T10:00:00Z")
	first := signIn(t, m, custCode)
	// One more open every 6 s refills while the burst runs: on a slow
	// machine a little more than the burst of 20 gets in.
	start := time.Now()
	opened := 1
	var res *http.Response
	for ; opened < 40; opened++ {
		req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, m.URL()+"/api/session", strings.NewReader(`{"invite":"`+custCode+`"}`))
		require.NoError(t, err)
		res, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		if res.StatusCode != http.StatusOK {
			break
		}
		res.Body.Close()
	}
	refills := int(time.Since(start)/(6*time.Second)) + 1
	assert.GreaterOrEqual(t, opened, 20, "a burst of 20 opens")
	assert.LessOrEqual(t, opened, 20+refills)
	var e struct{ Error, Message string }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&e))
	res.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, wire.CodeRateLimited, e.Error)
	assert.Contains(t, e.Message, "try again in")
	assert.Contains(t, []string{"1", "2", "3", "4", "5", "6"}, res.Header.Get("Retry-After"), "one more open every 6 s")

	signIn(t, m, provCode)
	status, _ := first.renew(t, m)
	assert.Equal(t, http.StatusOK, status, "a session already open renews")
}
