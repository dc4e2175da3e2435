//go:build !wasm

package integration_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"tether/conn/conntest"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/node"
)

// unlimited lifts the send rate limit for tests that store many messages.
func unlimited(m *node.Main) {
	m.Chat.SendRate = rate.Inf
	m.Chat.SendBurst = 1 << 20
}

func TestTwoUsersInARoomReceiveEveryMessageOnceInOrder(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	const room, perUser = "booking-1", 25
	users := []*user{
		join(t, m, room, "casey", wire.RoleCustomer),
		join(t, m, room, "taylor", wire.RoleTherapist),
	}
	ctx := testContext(t)

	// Both send at once without waiting for acks, then each reads until it
	// has its acks and every message of both.
	type got struct {
		acks []wire.Ack
		msgs []wire.Message
		err  error
	}
	results := make([]got, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			for n := range perUser {
				if err := u.ws.Send(ctx, room, fmt.Sprintf("u%d-%d", i, n), fmt.Sprintf("message %d of user %d", n, i)); err != nil {
					results[i].err = err
					return
				}
			}
			r := &results[i]
			for len(r.acks) < perUser || len(r.msgs) < 2*perUser {
				f, err := u.ws.Next(ctx)
				if err != nil {
					r.err = err
					return
				}
				switch f := f.(type) {
				case *wire.Ack:
					r.acks = append(r.acks, *f)
				case *wire.Message:
					r.msgs = append(r.msgs, *f)
				default:
					r.err = fmt.Errorf("unexpected frame %#v", f)
					return
				}
			}
		})
	}
	wg.Wait()

	stored := history(t, users[0].http, room)
	require.Equal(t, conntest.SeqRange(1, 2*perUser), conntest.Seqs(stored), "seqs are dense from 1")
	byClientID := map[string]wire.Message{}
	for _, msg := range stored {
		byClientID[msg.ClientID] = msg
	}
	for i, r := range results {
		require.NoError(t, r.err, "user %d", i)
		assert.Equal(t, stored, r.msgs, "user %d receives every message once, in seq order", i)
		require.Len(t, r.acks, perUser)
		for n, ack := range r.acks {
			clientID := fmt.Sprintf("u%d-%d", i, n)
			assert.Equal(t, clientID, ack.ClientID, "acks come in the order of the sends")
			msg := byClientID[clientID]
			assert.Equal(t, wire.Ack{Room: room, ClientID: clientID, Seq: msg.Seq, SentAt: msg.SentAt}, ack)
			assert.Equal(t, fmt.Sprintf("message %d of user %d", n, i), msg.Body)
		}
	}
	for _, u := range users {
		requireQuiet(t, u.ws)
	}
}

func TestAUserOfAnotherRoomIsForbiddenAndStoresNothing(t *testing.T) {
	t.Parallel()
	m := startNode(t)
	const room, other = "booking-1", "booking-2"
	casey := join(t, m, room, "casey", wire.RoleCustomer)
	ctx := testContext(t)
	for i := range 2 {
		_, err := casey.ws.SendAndAck(ctx, room, fmt.Sprintf("c%d", i), "legit")
		require.NoError(t, err)
	}
	_, err := casey.ws.NextMessages(ctx, room, 2)
	require.NoError(t, err)

	mallory := join(t, m, other, "mallory", wire.RoleCustomer)
	_, err = mallory.ws.SubscribeAndWait(ctx, room, 0)
	requireFrameError(t, err, wire.CodeForbidden, room)
	_, err = mallory.ws.SendAndAck(ctx, room, "m1", "let me in")
	requireFrameError(t, err, wire.CodeForbidden, room)
	_, err = mallory.http.Messages(ctx, room, 0, 0)
	requireHTTPError(t, err, 403, wire.CodeForbidden)
	_, _, err = mallory.http.Post(ctx, room, "m2", "let me in")
	requireHTTPError(t, err, 403, wire.CodeForbidden)

	assert.Equal(t, []string{"legit", "legit"}, bodies(history(t, casey.http, room)), "nothing of mallory is stored")
	requireQuiet(t, casey.ws)

	// The refusals cost mallory nothing in the room that is hers.
	ack, err := mallory.ws.SendAndAck(ctx, other, "m3", "my own room")
	require.NoError(t, err)
	assert.Equal(t, int64(1), ack.Seq)
	msgs, err := mallory.ws.NextMessages(ctx, other, 1)
	require.NoError(t, err)
	assert.Equal(t, "my own room", msgs[0].Body)
}

func TestResubscribingReplaysExactlyTheMissedMessages(t *testing.T) {
	t.Parallel()
	const room = "booking-1"
	m, casey, taylor := startChat(t, room, unlimited)
	ctx := testContext(t)
	send := func(from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			_, err := casey.ws.SendAndAck(ctx, room, fmt.Sprintf("c%d", i), fmt.Sprintf("m%d", i))
			require.NoError(t, err)
		}
	}

	send(1, 5)
	msgs, err := taylor.ws.NextMessages(ctx, room, 5)
	require.NoError(t, err)
	require.Equal(t, conntest.SeqRange(1, 5), conntest.Seqs(msgs))
	require.NoError(t, taylor.ws.Unsubscribe(ctx, room))
	requireQuiet(t, taylor.ws) // the unsubscribe is read before what follows
	send(6, 8)
	requireQuiet(t, taylor.ws)

	sub, err := taylor.ws.SubscribeAndWait(ctx, room, 5)
	require.NoError(t, err)
	assert.Equal(t, &wire.Subscribed{Room: room, Head: 8, Recovered: true}, sub)
	msgs, err = taylor.ws.NextMessages(ctx, room, 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"m6", "m7", "m8"}, bodies(msgs))
	requireQuiet(t, taylor.ws)

	t.Run("a hello with resume replays from the seq it names", func(t *testing.T) {
		c := dial(t, m, taylor.tok, native.WithResume(map[string]int64{room: 6}))
		f, err := c.Next(ctx)
		require.NoError(t, err)
		assert.Equal(t, &wire.Subscribed{Room: room, Head: 8, Recovered: true}, f)
		msgs, err := c.NextMessages(ctx, room, 2)
		require.NoError(t, err)
		assert.Equal(t, conntest.SeqRange(7, 8), conntest.Seqs(msgs))
		requireQuiet(t, c)
	})

	t.Run("more than 500 missed replays 500 and says recovered false", func(t *testing.T) {
		require.NoError(t, taylor.ws.Unsubscribe(ctx, room))
		requireQuiet(t, taylor.ws)
		postMany(t, casey.http, room, 520)
		requireQuiet(t, taylor.ws)

		sub, err := taylor.ws.SubscribeAndWait(ctx, room, 8)
		require.NoError(t, err)
		assert.Equal(t, &wire.Subscribed{Room: room, Head: 528, Recovered: false}, sub)
		msgs, err := taylor.ws.NextMessages(ctx, room, wire.ReplayLimit)
		require.NoError(t, err)
		assert.Equal(t, conntest.SeqRange(9, 508), conntest.Seqs(msgs))
		requireQuiet(t, taylor.ws)

		// The rest is paged over HTTP; live messages start after head.
		page, err := taylor.http.Messages(ctx, room, 508, 0)
		require.NoError(t, err)
		assert.Equal(t, conntest.SeqRange(509, 528), conntest.Seqs(page.Messages))
		ack, err := casey.ws.SendAndAck(ctx, room, "live", "live after the replay")
		require.NoError(t, err)
		assert.Equal(t, int64(529), ack.Seq)
		msgs, err = taylor.ws.NextMessages(ctx, room, 1)
		require.NoError(t, err)
		assert.Equal(t, int64(529), msgs[0].Seq)
		assert.Equal(t, "live after the replay", msgs[0].Body)
	})
}

// postMany posts n messages over HTTP from 8 requests at a time, so the
// store commits them in batches.
func postMany(t *testing.T, h *native.HTTPClient, room string, n int) {
	t.Helper()
	ctx := testContext(t)
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				_, _, err := h.Post(ctx, room, fmt.Sprintf("bulk-%d", i), fmt.Sprintf("bulk %d", i))
				errs <- err
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestARepeatedClientIDGetsTheOriginalAckAndNoSecondMessage(t *testing.T) {
	t.Parallel()
	const room = "booking-1"
	_, casey, taylor := startChat(t, room)
	ctx := testContext(t)

	first, err := casey.ws.SendAndAck(ctx, room, "c1", "hello")
	require.NoError(t, err)
	assert.Equal(t, int64(1), first.Seq)

	t.Run("over WebSocket", func(t *testing.T) {
		again, err := casey.ws.SendAndAck(ctx, room, "c1", "hello, edited")
		require.NoError(t, err)
		assert.Equal(t, first, again)
	})
	t.Run("from WebSocket to HTTP", func(t *testing.T) {
		posted, created, err := casey.http.Post(ctx, room, "c1", "hello")
		require.NoError(t, err)
		assert.False(t, created, "200, not 201")
		assert.Equal(t, wire.Posted{ClientID: "c1", Seq: first.Seq, SentAt: first.SentAt}, posted)
	})
	var second wire.Posted
	t.Run("over HTTP", func(t *testing.T) {
		var created bool
		second, created, err = casey.http.Post(ctx, room, "c2", "second")
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, int64(2), second.Seq)
		again, created, err := casey.http.Post(ctx, room, "c2", "second")
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, second, again)
	})
	t.Run("from HTTP to WebSocket", func(t *testing.T) {
		ack, err := casey.ws.SendAndAck(ctx, room, "c2", "second")
		require.NoError(t, err)
		assert.Equal(t, &wire.Ack{Room: room, ClientID: "c2", Seq: second.Seq, SentAt: second.SentAt}, ack)
	})
	// A client_id is keyed by its sender: another user cannot claim
	// casey's next one and make casey's send fail.
	t.Run("another user reusing the client_id makes a message of their own", func(t *testing.T) {
		ack, err := taylor.ws.SendAndAck(ctx, room, "c1", "mine")
		require.NoError(t, err)
		assert.Equal(t, int64(3), ack.Seq)
		posted, created, err := taylor.http.Post(ctx, room, "c2", "mine too")
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, int64(4), posted.Seq)
	})

	assert.Equal(t, []string{"hello", "second", "mine", "mine too"}, bodies(history(t, casey.http, room)))
	for _, u := range []*user{casey, taylor} {
		msgs, err := u.ws.NextMessages(ctx, room, 4)
		require.NoError(t, err)
		assert.Equal(t, conntest.SeqRange(1, 4), conntest.Seqs(msgs))
		requireQuiet(t, u.ws)
	}
}

func TestHTTPUsersAndWebSocketUsersSeeEachOther(t *testing.T) {
	t.Parallel()
	const room = "booking-1"
	m, casey, taylor := startChat(t, room)
	ctx := testContext(t)

	t.Run("a WebSocket subscriber receives a posted message", func(t *testing.T) {
		posted, created, err := casey.http.Post(ctx, room, "p1", "posted")
		require.NoError(t, err)
		require.True(t, created)
		msgs, err := taylor.ws.NextMessages(ctx, room, 1)
		require.NoError(t, err)
		assert.Equal(t, posted.Seq, msgs[0].Seq)
		assert.Equal(t, "posted", msgs[0].Body)
		assert.Equal(t, "casey", msgs[0].Sender.ID)
	})

	t.Run("a long-poll wakes at a WebSocket send", func(t *testing.T) {
		type answer struct {
			page *wire.MessagesPage
			err  error
			took time.Duration
		}
		done := make(chan answer, 1)
		start := time.Now()
		go func() {
			page, err := casey.http.Messages(ctx, room, 1, 5*time.Second)
			done <- answer{page, err, time.Since(start)}
		}()
		eventually(t, 3*time.Second, func() bool { return metric(t, m, "tether_longpolls_waiting") >= 1 }, "the long-poll waits")
		ack, err := taylor.ws.SendAndAck(ctx, room, "w1", "over the socket")
		require.NoError(t, err)
		a := <-done
		require.NoError(t, a.err)
		require.Len(t, a.page.Messages, 1)
		assert.Equal(t, ack.Seq, a.page.Messages[0].Seq)
		assert.Equal(t, "over the socket", a.page.Messages[0].Body)
		assert.Equal(t, ack.Seq, a.page.Head)
		assert.Less(t, a.took, 4*time.Second, "well before the wait of 5 s")
	})

	t.Run("a long-poll with nothing new answers empty after its wait", func(t *testing.T) {
		start := time.Now()
		page, err := casey.http.Messages(ctx, room, 2, time.Second)
		require.NoError(t, err)
		assert.Empty(t, page.Messages)
		assert.Equal(t, int64(2), page.Head)
		assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
	})

	t.Run("history pages backwards with before and limit", func(t *testing.T) {
		for i := 3; i <= 7; i++ {
			_, _, err := casey.http.Post(ctx, room, fmt.Sprintf("p%d", i), fmt.Sprintf("m%d", i))
			require.NoError(t, err)
		}
		requirePagesOfSeven(t, func(before int64) []wire.Message {
			page, err := casey.http.History(ctx, room, before, 3)
			require.NoError(t, err)
			assert.Equal(t, int64(7), page.Head)
			return page.Messages
		})
	})
}
