//go:build js && wasm

package browser_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/browser"
	"tether/conn/conntest"
	"tether/conn/wire"
)

func TestFetchPingPostAndHistory(t *testing.T) {
	ctx := testContext(t)
	h := &browser.HTTP{BaseURL: serverURL(t)}
	require.NoError(t, h.Ping(ctx))

	room := name("room")
	tok := devToken(t, room, name("casey"), wire.RoleCustomer)
	first, err := h.Post(ctx, tok, room, "p1", "one")
	require.NoError(t, err)
	again, err := h.Post(ctx, tok, room, "p1", "one")
	require.NoError(t, err)
	assert.Equal(t, first, again, "a repeated client_id gets the first answer")
	_, err = h.Post(ctx, tok, room, "p2", "two")
	require.NoError(t, err)

	page, err := h.History(ctx, tok, room, 0, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 2)
	assert.Equal(t, "one", page.Messages[0].Body)
	assert.Equal(t, "two", page.Messages[1].Body)
	page, err = h.History(ctx, tok, room, page.Messages[1].Seq, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 1)
	assert.Equal(t, "one", page.Messages[0].Body)
}

func TestFetchLongPollIsAnsweredByANewMessage(t *testing.T) {
	ctx := testContext(t)
	h := &browser.HTTP{BaseURL: serverURL(t)}
	room := name("room")
	casey := devToken(t, room, name("casey"), wire.RoleCustomer)
	taylor := devToken(t, room, name("taylor"), wire.RoleTherapist)

	type result struct {
		page wire.MessagesPage
		err  error
	}
	done := make(chan result, 1)
	go func() {
		page, err := h.Messages(ctx, taylor, room, 0, 20*time.Second, 50)
		done <- result{page, err}
	}()
	conntest.Eventually(t, func() bool { return h.InFlight() == 1 }, "the long-poll did not start")
	time.Sleep(200 * time.Millisecond) // let the server park the poll
	_, err := h.Post(ctx, casey, room, "lp1", "wake up")
	require.NoError(t, err)
	select {
	case r := <-done:
		require.NoError(t, r.err)
		require.Len(t, r.page.Messages, 1)
		assert.Equal(t, "wake up", r.page.Messages[0].Body)
	case <-time.After(10 * time.Second):
		t.Fatal("the long-poll was not answered by the new message")
	}
}

func TestFetchAbortLeavesNothingInFlight(t *testing.T) {
	h := &browser.HTTP{BaseURL: serverURL(t)}
	room := name("room")
	tok := devToken(t, room, name("casey"), wire.RoleCustomer)
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		_, err := h.Messages(ctx, tok, room, 0, 25*time.Second, 50)
		done <- err
	}()
	conntest.Eventually(t, func() bool { return h.InFlight() == 1 }, "the long-poll did not start")
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 5*time.Second, "the abort ends the wait, not the server's timeout")
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling did not abort the fetch")
	}
	assert.Equal(t, 0, h.InFlight())
}

func TestFetchErrorsCarryTheServersCodeAndRetryAfter(t *testing.T) {
	ctx := testContext(t)
	h := &browser.HTTP{BaseURL: serverURL(t)}
	room := name("room")

	_, err := h.Messages(ctx, "not-a-token", room, 0, 0, 10)
	var he *conn.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusUnauthorized, he.Status)
	assert.NotEmpty(t, he.Code)

	stranger := devToken(t, name("other-room"), name("sam"), wire.RoleCustomer)
	_, err = h.Messages(ctx, stranger, room, 0, 0, 10)
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusForbidden, he.Status)
	assert.Equal(t, wire.CodeForbidden, he.Code)

	// The server lets a user send a burst of 30, then 10 a second, and
	// answers 429 with Retry-After, which a cross-origin page may read too.
	// Posts go ten at a time until one is refused: one by one, a busy
	// machine may post slower than the bucket refills.
	tok := devToken(t, room, name("speedy"), wire.RoleCustomer)
	err = nil
	for round := 0; err == nil && ctx.Err() == nil; round++ {
		errs := make(chan error, 10)
		for i := range 10 {
			go func() {
				_, err := h.Post(ctx, tok, room, fmt.Sprintf("burst-%d-%d", round, i), "quick")
				errs <- err
			}()
		}
		for range 10 {
			if e := <-errs; e != nil && err == nil {
				err = e
			}
		}
	}
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusTooManyRequests, he.Status)
	assert.Equal(t, wire.CodeRateLimited, he.Code)
	assert.Positive(t, he.RetryAfter, "Retry-After is read")
}

func TestFetchToAServerThatIsNotThereIsANetworkError(t *testing.T) {
	h := &browser.HTTP{BaseURL: "http://127.0.0.1:1"}
	err := h.Ping(testContext(t))
	require.Error(t, err)
	var he *conn.HTTPError
	assert.NotErrorAs(t, err, &he, "no answer is not an HTTP error")
}
