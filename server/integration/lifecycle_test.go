//go:build !wasm

package integration_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tether/conn/conntest"
	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/node"
)

func TestASlowConsumerIsClosedAndTheOthersReceiveEverything(t *testing.T) {
	t.Parallel()
	m := startNode(t, unlimited, func(m *node.Main) { m.Chat.SendQueue = 16 })
	const room = "booking-1"
	ctx := testContext(t)
	slow := join(t, m, room, "sloane", wire.RoleCustomer)
	fast := join(t, m, room, "taylor", wire.RoleTherapist)

	// The fast subscriber reads all along, up to the last message.
	const last = "after-2"
	var fastMsgs []wire.Message
	var fastErr error
	fastDone := make(chan struct{})
	go func() {
		defer close(fastDone)
		for len(fastMsgs) == 0 || fastMsgs[len(fastMsgs)-1].ClientID != last {
			f, err := fast.ws.Next(ctx)
			if err != nil {
				fastErr = err
				return
			}
			if msg, ok := f.(*wire.Message); ok {
				fastMsgs = append(fastMsgs, *msg)
			}
		}
	}()

	// Four publishers send large messages until the server gives up on the
	// subscriber that never reads: its socket buffers fill, then its queue.
	// Four at a time keep each commit, so each burst to the fast reader,
	// well under its queue of 16.
	body := strings.Repeat("😀", wire.MaxBodyChars)
	var published atomic.Int64
	var gaveUp atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for p := range 4 {
		tok := token(t, m, room, fmt.Sprintf("pub%d", p), wire.RolePlace)
		c := dial(t, m, tok)
		wg.Go(func() {
			for i := 0; !gaveUp.Load() && i < 1000; i++ {
				if _, err := c.SendAndAck(ctx, room, fmt.Sprintf("p%d-%d", p, i), body); err != nil {
					errs <- err
					return
				}
				published.Add(1)
			}
		})
	}
	eventually(t, 20*time.Second, func() bool {
		return metric(t, m, "tether_slow_consumer_disconnects_total") >= 1
	}, "the slow consumer is disconnected")
	gaveUp.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// Reading now drains what was buffered, then the close.
	requireClosed(t, slow.ws, wire.ClosePolicy)

	// Live messages after it still reach the fast reader.
	n := published.Load()
	for i := range 3 {
		_, _, err := fast.http.Post(ctx, room, fmt.Sprintf("after-%d", i), "after the slow one left")
		require.NoError(t, err)
	}
	<-fastDone
	require.NoError(t, fastErr, "got %d of %d, last %v", len(fastMsgs), n+3, conntest.Seqs(fastMsgs[max(0, len(fastMsgs)-3):]))
	require.Equal(t, conntest.SeqRange(1, n+3), conntest.Seqs(fastMsgs), "the fast subscriber gets every message once, in order")
	t.Logf("published %d messages of %d bytes before the slow consumer was closed", n, len(body))
}

func TestShutdownTellsClientsToComeBackAndEndsLongPolls(t *testing.T) {
	t.Parallel()
	const room = "booking-1"
	m, casey, taylor := startChat(t, room)
	ctx := testContext(t)

	type answer struct {
		page *wire.MessagesPage
		err  error
		at   time.Time
	}
	poll := make(chan answer, 1)
	go func() {
		page, err := taylor.http.Messages(ctx, room, 0, 30*time.Second)
		poll <- answer{page, err, time.Now()}
	}()
	eventually(t, 3*time.Second, func() bool { return metric(t, m, "tether_longpolls_waiting") >= 1 }, "the long-poll waits")

	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()

	for _, u := range []*user{casey, taylor} {
		ce := requireClosed(t, u.ws, wire.CloseDraining)
		window, err := ce.RetryAfter()
		require.NoError(t, err, "reason %q", ce.Reason)
		require.Positive(t, window)
	}
	a := <-poll
	require.NoError(t, a.err, "the long-poll answers 200")
	require.Empty(t, a.page.Messages)
	require.Less(t, a.at.Sub(start), 4*time.Second, "the long-poll returns well before its wait of 30 s")
	require.NoError(t, <-closed)

	_, err := native.Dial(ctx, m.URL(), casey.tok)
	require.Error(t, err, "the server is gone")
}

func TestARestartOnTheSameDataKeepsEveryAckedMessageInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const room = "booking-1"
	ctx := testContext(t)

	first := newNode(dir)
	require.NoError(t, first.Run(ctx))
	t.Cleanup(func() { first.Close() })
	casey := join(t, first, room, "casey", wire.RoleCustomer)
	var acked []wire.Ack
	for i := range 10 {
		ack, err := casey.ws.SendAndAck(ctx, room, fmt.Sprintf("w%d", i), fmt.Sprintf("socket %d", i))
		require.NoError(t, err)
		acked = append(acked, *ack)
		posted, _, err := casey.http.Post(ctx, room, fmt.Sprintf("h%d", i), fmt.Sprintf("post %d", i))
		require.NoError(t, err)
		acked = append(acked, wire.Ack{Room: room, ClientID: posted.ClientID, Seq: posted.Seq, SentAt: posted.SentAt})
	}
	require.NoError(t, casey.ws.Close())
	require.NoError(t, first.Close())

	second := newNode(dir)
	require.NoError(t, second.Run(ctx))
	t.Cleanup(func() { second.Close() })
	// The dev secret lives in the data folder: the old token still works.
	h := httpClient(second, casey.tok)
	stored := history(t, h, room)
	require.Len(t, stored, len(acked))
	for i, msg := range stored {
		require.Equal(t, acked[i], wire.Ack{Room: msg.Room, ClientID: msg.ClientID, Seq: msg.Seq, SentAt: msg.SentAt})
	}
	require.Equal(t, conntest.SeqRange(1, int64(len(acked))), conntest.Seqs(stored))

	c := dial(t, second, casey.tok)
	ack, err := c.SendAndAck(ctx, room, "after", "after the restart")
	require.NoError(t, err)
	require.Equal(t, int64(len(acked)+1), ack.Seq, "seqs go on where they stopped")
}
