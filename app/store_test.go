package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/app"
	"tether/components"
	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/wire"
)

// The store runs on a real conn.Service wired to the conntest fakes: what
// it shows is what it makes of the service's real behaviour.

// chat is a store on a service on fakes, with a fake clock the test moves.
type chat struct {
	t       *testing.T
	clock   *conntest.Clock
	srv     *conntest.Server
	storage *conntest.Storage
	opts    app.StoreOptions
	svc     *conn.Service
	store   *app.Store
}

func newChat(t *testing.T, setup ...func(*chat)) *chat {
	t.Helper()
	clock := conntest.NewClock(time.Time{})
	c := &chat{
		t:       t,
		clock:   clock,
		srv:     conntest.NewServer(clock),
		storage: conntest.NewStorage(),
		opts:    app.StoreOptions{UserID: conntest.Me.ID, UserName: conntest.Me.Name, PageSize: 5, Now: clock.Now},
	}
	for _, f := range setup {
		f(c)
	}
	c.start()
	return c
}

// parallelChat marks the test parallel and gives it a chat of its own.
func parallelChat(t *testing.T, setup ...func(*chat)) *chat {
	t.Helper()
	t.Parallel()
	return newChat(t, setup...)
}

// start runs a service and a store on the fakes, as a page load does.
func (c *chat) start() {
	c.svc = conn.New(conn.Config{}, conn.Ports{
		Clock:   c.clock,
		Dialer:  c.srv.Dialer(),
		HTTP:    c.srv.HTTP(),
		Tokens:  conntest.NewTokens("token-1"),
		Env:     conntest.NewEnv(),
		Storage: c.storage,
		Rand:    func() float64 { return 0.37 },
	})
	c.store = app.NewStore(c.svc, c.opts)
	svc, store := c.svc, c.store
	c.t.Cleanup(func() {
		store.Close()
		svc.Close()
	})
	c.settle()
}

// reload closes the store and the service and starts new ones on the same
// storage, as a reload of the page does.
func (c *chat) reload() {
	c.store.Close()
	c.svc.Close()
	c.start()
}

// settle waits until neither the service nor the store has anything to do
// until the clock moves, firing the timers already due.
func (c *chat) settle() {
	c.t.Helper()
	if err := conntest.Settle(c.svc, c.srv, c.clock, c.storeIdle); err != nil {
		c.t.Fatal(err)
	}
}

// advance moves the clock by d, letting everything react to each timer at
// its own time.
func (c *chat) advance(d time.Duration) {
	c.t.Helper()
	if err := conntest.Advance(c.svc, c.srv, c.clock, d, c.storeIdle); err != nil {
		c.t.Fatal(err)
	}
}

// storeIdle reports whether the store has nothing to do until the service
// calls it.
func (c *chat) storeIdle() bool { return app.StoreIdle(c.store) }

// until advances in small steps until cond holds, failing after limit.
func (c *chat) until(limit time.Duration, cond func() bool) {
	c.t.Helper()
	start := c.clock.Now()
	for !cond() {
		require.LessOrEqual(c.t, c.clock.Now().Sub(start), limit, "condition not met in time")
		c.advance(100 * time.Millisecond)
	}
}

func (c *chat) send(room, body string) string {
	c.t.Helper()
	id, err := c.store.Send(room, body)
	require.NoError(c.t, err)
	c.settle()
	return id
}

// publish has the other side write body in room, and settles.
func (c *chat) publish(room, body string) {
	c.t.Helper()
	c.srv.Publish(room, body)
	c.settle()
}

// loadOlder asks for the page before what room shows, and settles.
func (c *chat) loadOlder(room string) {
	c.t.Helper()
	c.store.LoadOlder(room)
	c.settle()
}

// views records every view a watcher is given and checks each one.
type views struct {
	t    *testing.T
	mu   sync.Mutex
	all  []app.RoomView
	stop func()
}

func (c *chat) watch(room string) *views {
	c.t.Helper()
	v := &views{t: c.t}
	v.stop = c.store.Watch(room, func(rv app.RoomView) {
		checkView(c.t, rv)
		v.mu.Lock()
		defer v.mu.Unlock()
		v.all = append(v.all, rv)
	})
	c.settle()
	return v
}

func (v *views) last() app.RoomView {
	v.mu.Lock()
	defer v.mu.Unlock()
	require.NotEmpty(v.t, v.all, "no view yet")
	return v.all[len(v.all)-1]
}

func (v *views) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.all)
}

// states lists the states a message went through, one entry per view from
// the first that showed it, "" for a view that lacked it.
func (v *views) states(clientID string) []components.MessageState {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []components.MessageState
	for _, rv := range v.all {
		var state components.MessageState
		for _, m := range rv.Messages {
			if m.ClientID == clientID {
				state = m.State
			}
		}
		if state != "" || len(out) > 0 {
			out = append(out, state)
		}
	}
	return slices.Compact(out)
}

// checkView holds for every view: sent messages first, in strictly rising
// seq, then the user's others; no client id twice.
func checkView(t *testing.T, v app.RoomView) {
	t.Helper()
	ids := map[string]bool{}
	var lastSeq int64
	unsent := false
	for _, m := range v.Messages {
		if m.ClientID != "" {
			assert.False(t, ids[m.ClientID], "client id %s twice in %v", m.ClientID, v.Messages)
			ids[m.ClientID] = true
		}
		switch m.State {
		case components.MessageSent:
			assert.False(t, unsent, "a sent message after a pending one: %v", v.Messages)
			assert.Greater(t, m.Seq, lastSeq, "seqs out of order: %v", v.Messages)
			lastSeq = m.Seq
		case components.MessagePending, components.MessageFailed:
			unsent = true
			assert.Zero(t, m.Seq)
			assert.True(t, m.Mine)
		default:
			t.Errorf("unknown state %q", m.State)
		}
	}
}

func seqsOf(v app.RoomView) []int64 {
	out := []int64{}
	for _, m := range v.Messages {
		out = append(out, m.Seq)
	}
	return out
}

func bodiesOf(v app.RoomView) []string {
	out := []string{}
	for _, m := range v.Messages {
		out = append(out, m.Body)
	}
	return out
}

// resumeAt makes the service start from lastSeq in room, as after an
// earlier visit: only what comes after arrives by subscription.
func resumeAt(room string, lastSeq int64) func(*chat) {
	return func(c *chat) { c.storage.Put(conn.Snapshot{LastSeq: map[string]int64{room: lastSeq}}) }
}

func TestStoreShowsTheRoom(t *testing.T) {
	t.Parallel()

	t.Run("messages of the other side arrive in seq order and are not mine", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		c.publish("room-1", "one")
		c.publish("room-1", "two")
		got := v.last()
		require.Len(t, got.Messages, 2)
		assert.Equal(t, conntest.SeqRange(1, 2), seqsOf(got))
		for _, m := range got.Messages {
			assert.Equal(t, components.MessageSent, m.State)
			assert.False(t, m.Mine)
			assert.Equal(t, conntest.Them.Name, m.SenderName)
			assert.Equal(t, conntest.Epoch, m.SentAt.UTC())
		}
		assert.Equal(t, []string{"one", "two"}, bodiesOf(got))
		assert.False(t, got.HasOlder, "the first page reached seq 1")
		assert.Empty(t, got.Err)
	})

	t.Run("the recent past shows at once and older pages merge in order", func(t *testing.T) {
		c := parallelChat(t, resumeAt("room-1", 12), func(c *chat) { c.srv.Seed("room-1", 12) })
		v := c.watch("room-1")
		assert.Equal(t, conntest.SeqRange(8, 12), seqsOf(v.last()), "the newest page")
		assert.True(t, v.last().HasOlder)

		c.loadOlder("room-1")
		assert.Equal(t, conntest.SeqRange(3, 12), seqsOf(v.last()))
		assert.True(t, v.last().HasOlder)

		c.loadOlder("room-1")
		assert.Equal(t, conntest.SeqRange(1, 12), seqsOf(v.last()))
		assert.False(t, v.last().HasOlder, "the page was short: the first message is known")

		pages := c.srv.Stats().Histories
		c.loadOlder("room-1")
		assert.Equal(t, pages, c.srv.Stats().Histories, "no page before seq 1")

		c.publish("room-1", "new")
		assert.Equal(t, conntest.SeqRange(1, 13), seqsOf(v.last()))
	})

	t.Run("history stops once a page reaches seq 1 even when full", func(t *testing.T) {
		c := parallelChat(t, resumeAt("room-1", 10), func(c *chat) { c.srv.Seed("room-1", 10) })
		v := c.watch("room-1")
		c.loadOlder("room-1")
		assert.Equal(t, conntest.SeqRange(1, 10), seqsOf(v.last()))
		assert.False(t, v.last().HasOlder)
	})

	t.Run("a first visit shows the newest page and subscribes after it", func(t *testing.T) {
		t.Parallel()
		// No last seq: the first page is the newest messages, and the
		// subscription starts after it instead of replaying the room.
		c := newChat(t, func(c *chat) { c.srv.Seed("room-1", 7) })
		v := c.watch("room-1")
		assert.Equal(t, conntest.SeqRange(3, 7), seqsOf(v.last()))
		assert.True(t, v.last().HasOlder)
		subs := c.srv.Received(wire.TypeSubscribe)
		require.Len(t, subs, 1)
		assert.Equal(t, int64(7), subs[0].(*wire.Subscribe).Since)
		c.publish("room-1", "live")
		assert.Equal(t, conntest.SeqRange(3, 8), seqsOf(v.last()))
		c.loadOlder("room-1")
		assert.Equal(t, conntest.SeqRange(1, 8), seqsOf(v.last()))
	})

	t.Run("the same messages from a page and from the subscription show once", func(t *testing.T) {
		t.Parallel()
		// A last seq older than the page: the resume replays what the page
		// also read.
		c := newChat(t, resumeAt("room-1", 1), func(c *chat) { c.srv.Seed("room-1", 7) })
		v := c.watch("room-1")
		assert.Equal(t, conntest.SeqRange(2, 7), seqsOf(v.last()))
		c.loadOlder("room-1")
		assert.Equal(t, conntest.SeqRange(1, 7), seqsOf(v.last()))
	})

	t.Run("a room the user may not read shows why", func(t *testing.T) {
		c := parallelChat(t, func(c *chat) { c.srv.Forbid("room-9") })
		v := c.watch("room-9")
		got := v.last()
		assert.Contains(t, got.Err, "not a participant")
		assert.True(t, got.Forbidden)
		assert.False(t, got.HasOlder)
		assert.Empty(t, got.Messages)
	})

	t.Run("a malformed room shows why without asking the server", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("no such room")
		assert.Contains(t, v.last().Err, conn.ErrInvalidRoom.Error())
		assert.Zero(t, c.srv.Stats().Histories)
	})

	t.Run("a page opened offline reads the recent past once the network is back", func(t *testing.T) {
		c := parallelChat(t, resumeAt("room-1", 3), func(c *chat) {
			c.srv.Seed("room-1", 3)
			c.srv.Unplug()
		})
		v := c.watch("room-1")
		assert.Contains(t, v.last().OlderErr, "failed to read the history of room-1")
		assert.Empty(t, v.last().Err, "a page that could not be read is no failure of the room")
		assert.True(t, v.last().HasOlder, "the user may try again")
		c.srv.Plug()
		c.until(time.Minute, func() bool { return c.svc.Status().IsConnected })
		assert.Equal(t, conntest.SeqRange(1, 3), seqsOf(v.last()))
		assert.Empty(t, v.last().OlderErr)
		assert.Zero(t, v.last().Unread, "what was there before counts as read")
	})
}

func TestStoreShowsTheUsersMessages(t *testing.T) {
	t.Parallel()

	t.Run("a message shows pending, then sent, exactly once", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		c.srv.IgnoreSends(true)
		id := c.send("room-1", "hello")
		got := v.last()
		require.Len(t, got.Messages, 1)
		assert.Equal(t, components.MessageView{ClientID: id, State: components.MessagePending, Mine: true, SenderName: conntest.Me.Name, Body: "hello", SentAt: c.clock.Now()}, got.Messages[0])

		c.srv.IgnoreSends(false)
		c.advance(11 * time.Second) // the ack timeout: sent again
		got = v.last()
		require.Len(t, got.Messages, 1)
		assert.Equal(t, components.MessageSent, got.Messages[0].State)
		assert.EqualValues(t, 1, got.Messages[0].Seq)
		assert.True(t, got.Messages[0].Mine)
		assert.Equal(t, []components.MessageState{components.MessagePending, components.MessageSent}, v.states(id), "never gone, never back")
		assert.Len(t, c.srv.Messages("room-1"), 1)
	})

	t.Run("an ack before the message itself keeps it pending, never gone", func(t *testing.T) {
		t.Parallel()
		// Short polls: the post is answered at once, the message comes with
		// the next poll.
		c := newChat(t, func(c *chat) {
			c.srv.RefuseWebSocket(errors.New("proxy"))
			c.srv.DisableLongPoll(true)
		})
		c.until(time.Minute, func() bool { return c.svc.Status().State == conn.StatePolling })
		v := c.watch("room-1")
		id := c.send("room-1", "over HTTP")
		require.Empty(t, c.svc.Outbox(), "acked")
		assert.Equal(t, components.MessagePending, v.last().Messages[0].State, "its seq is not known yet")
		c.until(time.Minute, func() bool { return v.last().Messages[0].State == components.MessageSent })
		assert.Equal(t, []components.MessageState{components.MessagePending, components.MessageSent}, v.states(id))
		assert.Len(t, v.last().Messages, 1)
	})

	t.Run("a failed message shows why, and retry sends it", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		c.srv.AnswerSends(&wire.ErrorFrame{Code: wire.CodeConflict, Message: "client_id in use"})
		id := c.send("room-1", "hello")
		got := v.last().Messages
		require.Len(t, got, 1)
		assert.Equal(t, components.MessageFailed, got[0].State)
		assert.Equal(t, "conflict: client_id in use", got[0].Error)

		c.store.Retry(id)
		c.settle()
		got = v.last().Messages
		require.Len(t, got, 1)
		assert.Equal(t, components.MessageSent, got[0].State)
		assert.Empty(t, got[0].Error)
		// A watcher may not see every step (pending may be over before it
		// is told), but the message is never gone and ends sent.
		states := v.states(id)
		assert.NotContains(t, states, components.MessageState(""))
		assert.Contains(t, states, components.MessageFailed)
		assert.Equal(t, components.MessageSent, states[len(states)-1])
	})

	t.Run("a discarded message goes for good", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		c.srv.AnswerSends(&wire.ErrorFrame{Code: wire.CodeConflict, Message: "client_id in use"})
		id := c.send("room-1", "oops")
		require.Equal(t, components.MessageFailed, v.last().Messages[0].State)
		c.store.Discard(id)
		c.settle()
		assert.Empty(t, v.last().Messages)
		assert.Empty(t, c.svc.Outbox())
		c.advance(time.Minute)
		assert.Empty(t, v.last().Messages)
	})

	t.Run("messages sent later show after the sent ones, in the order sent", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		c.publish("room-1", "theirs")
		c.srv.IgnoreSends(true)
		a := c.send("room-1", "first")
		b := c.send("room-1", "second")
		c.publish("room-1", "theirs again")
		got := v.last().Messages
		require.Len(t, got, 4)
		assert.Equal(t, []string{"theirs", "theirs again", "first", "second"}, bodiesOf(v.last()))
		assert.Equal(t, []string{a, b}, []string{got[2].ClientID, got[3].ClientID})
	})

	t.Run("a drop and its replay bring nothing twice", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		c.srv.Publish("room-1", "one")
		c.send("room-1", "two")
		c.srv.Break(wire.CloseAbnormal, "")
		c.settle()
		c.srv.Publish("room-1", "three") // while away
		id := c.send("room-1", "four")   // waits in the outbox
		assert.Equal(t, []string{"one", "two", "four"}, bodiesOf(v.last()), "three comes with the replay")
		assert.Equal(t, components.MessagePending, v.last().Messages[2].State)
		c.until(time.Minute, func() bool { return c.svc.Status().State == conn.StateConnected })
		got := v.last()
		assert.Equal(t, conntest.SeqRange(1, 4), seqsOf(got))
		assert.Equal(t, []string{"one", "two", "three", "four"}, bodiesOf(got))
		assert.Equal(t, []bool{false, true, false, true}, []bool{got.Messages[0].Mine, got.Messages[1].Mine, got.Messages[2].Mine, got.Messages[3].Mine})
		assert.Equal(t, []components.MessageState{components.MessagePending, components.MessageSent}, v.states(id))
	})

	t.Run("a reload shows the past and the waiting messages once", func(t *testing.T) {
		c := parallelChat(t)
		c.watch("room-1")
		c.srv.Publish("room-1", "one")
		c.send("room-1", "two")
		c.srv.IgnoreSends(true)
		id := c.send("room-1", "three")

		c.reload()
		v := c.watch("room-1")
		got := v.last()
		assert.Equal(t, []string{"one", "two", "three"}, bodiesOf(got))
		assert.Equal(t, []int64{1, 2, 0}, seqsOf(got))
		assert.Equal(t, components.MessagePending, got.Messages[2].State)
		assert.True(t, got.Messages[1].Mine, "sent from this user, by its id")

		c.srv.IgnoreSends(false)
		c.advance(11 * time.Second)
		assert.Equal(t, conntest.SeqRange(1, 3), seqsOf(v.last()))
		assert.Equal(t, []components.MessageState{components.MessagePending, components.MessageSent}, v.states(id))
	})
}

func TestStoreCountsUnread(t *testing.T) {
	t.Parallel()

	t.Run("others' messages since the room was read", func(t *testing.T) {
		c := parallelChat(t, func(c *chat) { c.srv.Publish("room-1", "before the app opened") })
		v := c.watch("room-1")
		assert.Zero(t, v.last().Unread)

		c.srv.Publish("room-1", "new one")
		c.srv.Publish("room-1", "new two")
		c.send("room-1", "mine does not count")
		assert.Equal(t, 2, v.last().Unread)

		c.store.MarkRead("room-1")
		c.settle()
		assert.Zero(t, v.last().Unread)
		c.publish("room-1", "after reading")
		assert.Equal(t, 1, v.last().Unread)

		c.store.SetActive("room-1")
		c.settle()
		assert.Zero(t, v.last().Unread)
		c.publish("room-1", "while on screen")
		assert.Zero(t, v.last().Unread)

		c.store.SetActive("")
		c.publish("room-1", "after leaving the screen")
		assert.Equal(t, 1, v.last().Unread)
	})

	t.Run("what came in during an outage is marked new until the user writes", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		c.publish("room-1", "before")
		c.srv.Unplug()
		c.srv.Break(wire.CloseAbnormal, "")
		c.settle()
		require.False(t, c.svc.Status().IsConnected)
		c.send("room-1", "typed offline: reads nothing")
		c.srv.Publish("room-1", "during one")
		c.srv.Publish("room-1", "during two")
		c.srv.Plug()
		c.until(time.Minute, func() bool {
			return c.svc.Status().IsConnected && len(v.last().Messages) == 4 && v.last().Messages[3].State == components.MessageSent
		})
		marks := func() map[string]bool {
			out := map[string]bool{}
			for _, m := range v.last().Messages {
				out[m.Body] = m.New
			}
			return out
		}
		assert.Equal(t, map[string]bool{"before": false, "typed offline: reads nothing": false, "during one": true, "during two": true}, marks())
		var firstNew []string
		for _, m := range v.last().Messages {
			if m.FirstNew {
				firstNew = append(firstNew, m.Body)
			}
		}
		assert.Equal(t, []string{"during one"}, firstNew, `the first new one carries the "New messages" line`)
		c.publish("room-1", "after, still unanswered")
		assert.True(t, marks()["after, still unanswered"], "until the user writes")
		c.send("room-1", "sorry, was in a tunnel")
		for _, m := range v.last().Messages {
			assert.False(t, m.New, m.Body)
		}
	})

	t.Run("arrivals count others' live messages, not history and not the user's", func(t *testing.T) {
		c := parallelChat(t, func(c *chat) { c.srv.Publish("room-1", "history: no arrival") })
		var mu sync.Mutex
		var heard []int
		stop := c.store.WatchArrivals(func(n int) { mu.Lock(); heard = append(heard, n); mu.Unlock() })
		defer stop()
		c.watch("room-1")
		assert.Zero(t, c.store.Arrivals())
		c.srv.Publish("room-1", "live one")
		c.send("room-1", "mine does not count")
		c.publish("room-1", "live two")
		assert.Equal(t, 2, c.store.Arrivals())
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, heard)
		assert.Equal(t, 2, heard[len(heard)-1], "the watcher heard the count")
	})

	t.Run("the inbox lists rooms by last activity with previews and counts", func(t *testing.T) {
		c := parallelChat(t)
		var mu sync.Mutex
		var inbox [][]app.RoomSummary
		stop := c.store.WatchRooms(func(rs []app.RoomSummary) {
			mu.Lock()
			defer mu.Unlock()
			inbox = append(inbox, rs)
		})
		defer stop()
		latest := func() []app.RoomSummary {
			mu.Lock()
			defer mu.Unlock()
			return inbox[len(inbox)-1]
		}
		c.store.Join("room-a")
		c.store.Join("room-b")
		c.settle()
		assert.Len(t, latest(), 2)

		c.srv.Publish("room-a", "hello from a")
		c.advance(time.Minute)
		c.srv.Publish("room-b", "hello\nfrom   b, "+strings.Repeat("and more ", 20))
		c.settle()
		got := latest()
		require.Len(t, got, 2)
		assert.Equal(t, "room-b", got[0].Room, "the most recent first")
		assert.Equal(t, 1, got[0].Unread)
		assert.True(t, strings.HasPrefix(got[0].Preview, "hello from b, and more"), got[0].Preview)
		assert.True(t, strings.HasSuffix(got[0].Preview, "…"))
		assert.LessOrEqual(t, len([]rune(got[0].Preview)), 80)
		assert.Equal(t, app.RoomSummary{Room: "room-a", Preview: "hello from a", Unread: 1, LastActivity: conntest.Epoch}, withUTC(got[1]))

		c.advance(time.Second)
		c.send("room-a", "a reply")
		c.store.MarkRead("room-a")
		c.settle()
		got = latest()
		assert.Equal(t, "room-a", got[0].Room)
		assert.Equal(t, "a reply", got[0].Preview)
		assert.Zero(t, got[0].Unread)
		assert.Equal(t, got, c.store.Rooms())

		c.store.Leave("room-b")
		c.settle()
		assert.Len(t, latest(), 1)
	})
}

func withUTC(s app.RoomSummary) app.RoomSummary {
	s.LastActivity = s.LastActivity.UTC()
	return s
}

func TestStoreLifecycle(t *testing.T) {
	t.Parallel()

	t.Run("leave ends the subscription and the room's watchers", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		require.Equal(t, []string{"room-1"}, c.srv.Sockets()[0].Subscribed())
		c.store.Leave("room-1")
		c.settle()
		assert.Empty(t, c.srv.Sockets()[0].Subscribed(), "the service unsubscribed")
		n := v.count()
		c.publish("room-1", "nobody listens")
		assert.Equal(t, n, v.count())
		assert.Equal(t, app.RoomView{Room: "room-1"}, c.store.View("room-1"))
	})

	t.Run("a stopped watcher hears no more; the room stays followed", func(t *testing.T) {
		c := parallelChat(t)
		v := c.watch("room-1")
		v.stop()
		n := v.count()
		c.publish("room-1", "one")
		assert.Equal(t, n, v.count())
		assert.Len(t, c.store.View("room-1").Messages, 1)
	})

	t.Run("a page being read shows as loading and is abandoned on leave", func(t *testing.T) {
		c := parallelChat(t)
		c.srv.HangHTTP(true)
		c.store.Join("room-1")
		require.Eventually(t, func() bool { return c.srv.Blocked() == 1 }, 5*time.Second, 100*time.Microsecond)
		assert.True(t, c.store.View("room-1").LoadingOlder)
		c.store.Leave("room-1")
		require.Eventually(t, func() bool { return c.srv.Blocked() == 0 && app.StoreIdle(c.store) }, 5*time.Second, 100*time.Microsecond)
		c.srv.HangHTTP(false)
		assert.Equal(t, app.RoomView{Room: "room-1"}, c.store.View("room-1"))
	})
}

// Not parallel: it checks that nothing of the store is left running.
func TestStoreCloseStopsEverything(t *testing.T) {
	c := newChat(t)
	v := c.watch("room-1")
	var inboxCalls int
	var mu sync.Mutex
	c.store.WatchRooms(func([]app.RoomSummary) {
		mu.Lock()
		inboxCalls++
		mu.Unlock()
	})
	c.srv.HangHTTP(true)
	c.store.Join("room-2") // its first page hangs
	require.Eventually(t, func() bool { return c.srv.Blocked() == 1 }, 5*time.Second, 100*time.Microsecond)

	c.store.Close()
	c.store.Close() // twice is fine
	mu.Lock()
	calls := inboxCalls
	mu.Unlock()
	n := v.count()
	c.srv.HangHTTP(false)
	c.srv.Publish("room-1", "after close")
	c.svc.Close()
	assert.Equal(t, n, v.count(), "no watcher call after Close")
	mu.Lock()
	assert.Equal(t, calls, inboxCalls)
	mu.Unlock()
	assert.Zero(t, c.srv.Blocked(), "the page being read was abandoned")

	stop := c.store.Watch("room-3", func(app.RoomView) { t.Error("called after Close") })
	stop()
	_, err := c.store.Send("room-1", "too late")
	assert.ErrorIs(t, err, app.ErrStoreClosed)
	c.store.LoadOlder("room-1")
	c.store.MarkRead("room-1")
	assert.Empty(t, c.store.Rooms())
	// TestMain's leak check fails the package if a goroutine was left.
}

// fakeBackend delivers what a test tells it to, as no real service would:
// the same message twice, a message that is also in a page.
type fakeBackend struct {
	mu        sync.Mutex
	onMessage func(wire.Message)
	onOutbox  func([]conn.OutboxEntry)
	page      []wire.Message
}

var _ app.Backend = (*fakeBackend)(nil)

func (f *fakeBackend) Watch(fn func(conn.Status)) func() {
	fn(conn.Status{State: conn.StateConnected, IsConnected: true})
	return func() {}
}

func (f *fakeBackend) SubscribeAfter(_ string, _ int64, onMessage func(wire.Message), _ func(error)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onMessage = onMessage
	return func() {}
}

func (f *fakeBackend) Send(string, string) (string, error) { return "", errors.New("not here") }
func (f *fakeBackend) Retry(string)                        {}
func (f *fakeBackend) Discard(string)                      {}

func (f *fakeBackend) WatchOutbox(fn func([]conn.OutboxEntry)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onOutbox = fn
	return func() {}
}

func (f *fakeBackend) History(context.Context, string, int64, int) ([]wire.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.page), nil
}

func (f *fakeBackend) subscribed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.onMessage != nil
}

func (f *fakeBackend) deliver(msgs ...wire.Message) {
	f.mu.Lock()
	fn := f.onMessage
	f.mu.Unlock()
	for _, m := range msgs {
		fn(m)
	}
}

func TestStoreHoldsEachMessageOnce(t *testing.T) {
	t.Parallel()
	msg := func(seq int64, clientID string) wire.Message {
		return wire.Message{Room: "room-1", Seq: seq, ClientID: clientID, Sender: conntest.Them, Body: "m"}
	}
	b := &fakeBackend{page: []wire.Message{msg(2, "x-2"), msg(3, "x-3")}}
	store := app.NewStore(b, app.StoreOptions{UserID: conntest.Me.ID})
	defer store.Close()
	var mu sync.Mutex
	var last app.RoomView
	store.Watch("room-1", func(v app.RoomView) {
		checkView(t, v)
		mu.Lock()
		last = v
		mu.Unlock()
	})
	// The store subscribes once its first page is read.
	require.Eventually(t, b.subscribed, 5*time.Second, 100*time.Microsecond)
	b.deliver(msg(3, "x-3"), msg(3, "x-3"), msg(4, "x-4"), msg(1, "x-1"), msg(4, "x-4"))
	b.onOutbox([]conn.OutboxEntry{{ClientID: "x-4", Room: "room-1", Body: "m"}}) // an outbox late to hear of its ack
	b.deliver(msg(9, "x-4"))                                                     // a client id seen under another seq
	b.deliver(msg(5, "x-5"), wire.Message{Room: "room-2", Seq: 6, Body: "another room"})
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(seqsOf(last), conntest.SeqRange(1, 5)) && app.StoreIdle(store)
	}, 5*time.Second, 100*time.Microsecond)
	assert.Equal(t, conntest.SeqRange(1, 5), seqsOf(store.View("room-1")))
}

func TestTokenUser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		want  wire.User
		ok    bool
	}{
		{
			"a signed token gives its sub, name and role",
			"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXNleSIsIm5hbWUiOiJDYXNleSIsInJvbGUiOiJjdXN0b21lciIsInJvb21zIjpbImRlbW8tYm9va2luZyJdLCJleHAiOjE3NjQxMDAwMDB9.c2lnbmF0dXJl",
			wire.User{ID: "casey", Name: "Casey", Role: wire.RoleCustomer},
			true,
		},
		{
			"padding on the payload is tolerated",
			"e30.eyJzdWIiOiJ0YXlsb3IifQ==.x",
			wire.User{ID: "taylor"},
			true,
		},
		{"a token without sub names nobody", "e30.eyJuYW1lIjoiTm9ib2R5In0.x", wire.User{}, false},
		{"two parts are not a JWT", "e30.eyJzdWIiOiJ0YXlsb3IifQ", wire.User{}, false},
		{"a payload that is not base64url", "e30.$$$.x", wire.User{}, false},
		{"a payload that is not JSON", "e30.bm90IGpzb24.x", wire.User{}, false},
		{"an empty token", "", wire.User{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := app.TokenUser(tt.token)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// pagesBackend reads a page of one message per room, slowly, answering 429
// to the first read of the rooms in limited; it records the most reads at
// once.
type pagesBackend struct {
	fakeBackend
	limited map[string]bool
	reads   atomic.Int32
	most    atomic.Int32
}

func (b *pagesBackend) History(ctx context.Context, room string, _ int64, _ int) ([]wire.Message, error) {
	n := b.reads.Add(1)
	defer b.reads.Add(-1)
	for m := b.most.Load(); n > m && !b.most.CompareAndSwap(m, n); m = b.most.Load() {
	}
	time.Sleep(20 * time.Millisecond)
	b.mu.Lock()
	refuse := b.limited[room]
	delete(b.limited, room)
	b.mu.Unlock()
	if refuse {
		return nil, &conn.HTTPError{Status: http.StatusTooManyRequests, Code: wire.CodeRateLimited, RetryAfter: time.Second}
	}
	return []wire.Message{{Room: room, Seq: 1, Sender: conntest.Them, Body: "hello from " + room}}, nil
}

func TestStoreReadsFewPagesAtOnce(t *testing.T) {
	t.Parallel()
	b := &pagesBackend{limited: map[string]bool{"room-3": true}}
	store := app.NewStore(b, app.StoreOptions{UserID: conntest.Me.ID})
	defer store.Close()
	var mu sync.Mutex
	shown := map[string]int{}
	for i := 1; i <= 8; i++ {
		store.Watch(fmt.Sprintf("room-%d", i), func(v app.RoomView) {
			mu.Lock()
			shown[v.Room] = len(v.Messages)
			mu.Unlock()
		})
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := 1; i <= 8; i++ {
			if shown[fmt.Sprintf("room-%d", i)] != 1 {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "every room shows its page, the one answered 429 too")
	assert.LessOrEqual(t, b.most.Load(), int32(2), "at most two pages read at once")
}
