package tabs_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/tabs"
	"tether/conn/wire"
)

func TestMain(m *testing.M) {
	conntest.VerifyNoLeaks(m)
}

// channel is a BroadcastChannel: a frame reaches every other tab, in the
// order it was posted.
type channel struct {
	mu        sync.Mutex
	listeners map[int]func([]byte)
	next      int
	posted    []string
}

type tabBus struct {
	ch *channel
	id int
}

func (b *tabBus) Post(data []byte) error {
	b.ch.mu.Lock()
	defer b.ch.mu.Unlock()
	b.ch.posted = append(b.ch.posted, string(data))
	for id, fn := range b.ch.listeners {
		if id != b.id {
			fn(slices.Clone(data))
		}
	}
	return nil
}

func (b *tabBus) Listen(fn func([]byte)) func() {
	b.ch.mu.Lock()
	defer b.ch.mu.Unlock()
	b.ch.listeners[b.id] = fn
	return func() {
		b.ch.mu.Lock()
		defer b.ch.mu.Unlock()
		delete(b.ch.listeners, b.id)
	}
}

func (c *channel) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.posted)
}

func (c *channel) bus() *tabBus {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return &tabBus{ch: c, id: c.next}
}

// lock is a Web Lock: one holder, the others wait in order.
type lock struct {
	mu      sync.Mutex
	holder  *func()
	waiting []*func()
}

func (l *lock) Campaign(elected func()) (resign func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	me := &elected
	if l.holder == nil {
		l.holder = me
		go elected()
	} else {
		l.waiting = append(l.waiting, me)
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.holder != me {
			l.waiting = slices.DeleteFunc(l.waiting, func(x *func()) bool { return x == me })
			return
		}
		l.holder = nil
		if len(l.waiting) > 0 {
			l.holder, l.waiting = l.waiting[0], l.waiting[1:]
			go (*l.holder)()
		}
	}
}

// browser is one profile: its tabs share a channel, a lock and storage; the
// server is the fake one.
type browser struct {
	t       *testing.T
	clock   *conntest.Clock
	srv     *conntest.Server
	storage *conntest.Storage
	ch      *channel
	lock    *lock
	started int
	onStart func(conn.Environment)
	mu      sync.Mutex
}

func newBrowser(t *testing.T) *browser {
	clock := conntest.NewClock(time.Time{})
	return &browser{t: t, clock: clock, srv: conntest.NewServer(clock), storage: conntest.NewStorage(), ch: &channel{listeners: map[int]func([]byte){}}, lock: &lock{}}
}

func (b *browser) starts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}

// tab is a page: its hub and what it got.
type tab struct {
	hub *tabs.Hub
	env *conntest.Env
	mu  sync.Mutex
	got map[string][]wire.Message
}

func (b *browser) open() *tab {
	tokens := conntest.NewTokens("token-1")
	env := conntest.NewEnv()
	hub := tabs.New(tabs.Config{
		Env:     env,
		Bus:     b.ch.bus(),
		Elector: b.lock,
		Start: func(env conn.Environment) (*conn.Service, error) {
			b.mu.Lock()
			b.started++
			onStart := b.onStart
			b.mu.Unlock()
			if onStart != nil {
				onStart(env)
			}
			return conn.New(conn.Config{}, conn.Ports{
				Clock: b.clock, Dialer: b.srv.Dialer(), HTTP: b.srv.HTTP(), Tokens: tokens,
				Env: env, Storage: b.storage, Rand: func() float64 { return 0.5 },
			}), nil
		},
		History: func(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error) {
			return conn.ReadHistory(ctx, b.srv.HTTP(), tokens, room, before, limit)
		},
		Logger:   slog.New(slog.DiscardHandler),
		GapRetry: 10 * time.Millisecond,
	})
	b.t.Cleanup(hub.Close)
	return &tab{hub: hub, env: env, got: map[string][]wire.Message{}}
}

// openTwo opens a tab and, once it leads, a second one: a test then knows
// which of them leads and which follows.
func (b *browser) openTwo() (leader, follower *tab) {
	leader = b.open()
	conntest.Eventually(b.t, leader.hub.Leading, "the first tab leads")
	return leader, b.open()
}

// openTwoOn is openTwo with both tabs subscribed to room from its start.
func (b *browser) openTwoOn(room string) (leader, follower *tab) {
	leader, follower = b.openTwo()
	leader.subscribe(room, 0)
	follower.subscribe(room, 0)
	return leader, follower
}

func (tb *tab) subscribe(room string, after int64) {
	tb.hub.SubscribeAfter(room, after, func(m wire.Message) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		tb.got[room] = append(tb.got[room], m)
	}, nil)
}

// messages is what room delivered to the tab so far.
func (tb *tab) messages(room string) []wire.Message {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.got[room])
}

func (tb *tab) bodies(room string) []string {
	var out []string
	for _, m := range tb.messages(room) {
		out = append(out, m.Body)
	}
	return out
}

func (tb *tab) seqs(room string) []int64 {
	var out []int64
	for _, m := range tb.messages(room) {
		out = append(out, m.Seq)
	}
	return out
}

func connected(h *tabs.Hub) func() bool {
	return func() bool { return h.Status().State == conn.StateConnected }
}

func TestTwoTabsHoldOneConnection(t *testing.T) {
	b := newBrowser(t)
	a, c := b.openTwoOn("room-1")
	conntest.Eventually(t, connected(a.hub), "the leader connects")
	conntest.Eventually(t, connected(c.hub), "the follower shows the leader's status")
	assert.False(t, c.hub.Leading())
	assert.Equal(t, 1, b.starts(), "one service")
	assert.Len(t, b.srv.Sockets(), 1, "one socket")

	b.srv.Publish("room-1", "hello")
	conntest.Eventually(t, func() bool { return len(c.bodies("room-1")) == 1 }, "the follower gets the room's message")
	assert.Equal(t, []string{"hello"}, a.bodies("room-1"))

	// The follower sends through the leader: its outbox shows the message
	// until the server stored it, once.
	id, err := c.hub.Send("room-1", "from the second tab")
	require.NoError(t, err)
	conntest.Eventually(t, func() bool { return len(b.srv.Messages("room-1")) == 2 }, "stored")
	conntest.Eventually(t, func() bool { return len(c.hub.Outbox()) == 0 && len(a.hub.Outbox()) == 0 }, "acked everywhere")
	assert.Equal(t, id, b.srv.Messages("room-1")[1].ClientID)
	conntest.Eventually(t, func() bool { return slices.Equal(c.bodies("room-1"), []string{"hello", "from the second tab"}) }, "the follower sees its own message come back: %v", c.bodies("room-1"))

	// The link breaks; the leader waits for its next attempt (the clock
	// stands still), and "Retry now" in the follower skips the wait.
	b.srv.Break(wire.CloseGoingAway, "restart")
	conntest.Eventually(t, func() bool { return c.hub.Status().State == conn.StateReconnecting }, "the follower shows the loss")
	c.hub.ForceReconnect()
	conntest.Eventually(t, connected(c.hub), "the leader reconnected at the follower's word")
}

func TestEachTabSettlesOnceItKnowsWhoLeads(t *testing.T) {
	b := newBrowser(t)
	a, c := b.openTwoOn("room-1")
	for _, tab := range []*tab{a, c} {
		select {
		case <-tab.hub.Settled():
		case <-time.After(10 * time.Second):
			t.Fatal("a tab never settled")
		}
	}
	assert.True(t, a.hub.Leading() != c.hub.Leading(), "one leads, the other heard it")
	assert.Equal(t, 1, b.starts(), "the leader's service was started by then")
}

func TestTheLeaderClosesAnotherTabTakesOverAndMissesNothing(t *testing.T) {
	b := newBrowser(t)
	a, c := b.openTwoOn("room-1")
	conntest.Eventually(t, connected(c.hub), "the follower shows connected")
	b.srv.Publish("room-1", "one")
	conntest.Eventually(t, func() bool { return len(c.bodies("room-1")) == 1 }, "relayed")

	// What the leader gets but never passes on (it closes first), and what
	// comes while no tab is connected, both reach the new leader's page.
	b.srv.Seed("room-1", 2)
	a.hub.Close()
	b.srv.Publish("room-1", "four")
	conntest.Eventually(t, c.hub.Leading, "the other tab takes the lead")
	conntest.Eventually(t, connected(c.hub), "and connects")
	conntest.Eventually(t, func() bool { return len(c.seqs("room-1")) == 4 }, "everything: %v", c.seqs("room-1"))
	assert.Equal(t, []int64{1, 2, 3, 4}, c.seqs("room-1"), "in order, once each")
	assert.Equal(t, 2, b.starts())
}

func TestTypedWhileNoTabLeadsIsSentByTheNextLeader(t *testing.T) {
	b := newBrowser(t)
	b.srv.Unplug()
	a, c := b.openTwo()
	conntest.Eventually(t, func() bool { return b.ch.count() >= 2 }, "the follower said hello")
	// Offline: the leader keeps the follower's message in its outbox.
	_, err := c.hub.Send("room-1", "typed in the second tab")
	require.NoError(t, err)
	_, err = a.hub.Send("room-1", "typed in the first tab")
	require.NoError(t, err)
	conntest.Eventually(t, func() bool { return len(a.hub.Outbox()) == 2 && len(c.hub.Outbox()) == 2 }, "both tabs show both pending: %v", c.hub.Outbox())

	// The leader's tab closes before the link is back; its storage keeps
	// its outbox, and the next leader takes it.
	a.hub.Close()
	conntest.Eventually(t, c.hub.Leading, "the other tab leads")
	b.srv.Plug()
	c.hub.ForceReconnect()
	conntest.Eventually(t, func() bool { return len(b.srv.Messages("room-1")) == 2 }, "both stored: %v", b.srv.Messages("room-1"))
	conntest.Eventually(t, func() bool { return len(c.hub.Outbox()) == 0 }, "nothing left")
	assert.Len(t, b.srv.Messages("room-1"), 2, "once each")
}

func TestALateSubscriberReadsWhatTheLeaderPassedOnBefore(t *testing.T) {
	b := newBrowser(t)
	a := b.open()
	conntest.Eventually(t, a.hub.Leading, "leads")
	a.subscribe("room-1", 0)
	conntest.Eventually(t, connected(a.hub), "connected")
	b.srv.Publish("room-1", "one")
	b.srv.Publish("room-1", "two")
	conntest.Eventually(t, func() bool { return len(a.bodies("room-1")) == 2 }, "the leader's page got them")

	// A second tab read its first page before "two" and subscribes after.
	c := b.open()
	c.subscribe("room-1", 1)
	conntest.Eventually(t, func() bool { return slices.Equal(c.seqs("room-1"), []int64{2}) }, "the gap is read: %v", c.seqs("room-1"))
	b.srv.Publish("room-1", "three")
	conntest.Eventually(t, func() bool { return slices.Equal(c.seqs("room-1"), []int64{2, 3}) }, "then live: %v", c.seqs("room-1"))
}

func TestAFollowerSeesARoomRefused(t *testing.T) {
	b := newBrowser(t)
	b.srv.Forbid("room-x")
	_, c := b.openTwo()
	errs := make(chan error, 1)
	c.hub.SubscribeAfter("room-x", 0, func(wire.Message) {}, func(err error) { errs <- err })
	select {
	case err := <-errs:
		assert.ErrorIs(t, err, conn.ErrForbidden)
	case <-time.After(5 * time.Second):
		t.Fatal("no error for the refused room")
	}
}

func TestALeaderAboutToFreezeHandsOver(t *testing.T) {
	b := newBrowser(t)
	a, c := b.openTwoOn("room-1")
	conntest.Eventually(t, connected(c.hub), "connected")

	// Offline, the leader's page takes a message, then is frozen (its
	// storage keeps the entry under a tab that still lives).
	b.srv.Unplug()
	b.srv.Break(wire.CloseAbnormal, "")
	_, err := a.hub.Send("room-1", "typed before the freeze")
	require.NoError(t, err)
	conntest.Eventually(t, func() bool { return len(c.hub.Outbox()) == 1 }, "the follower shows it pending")
	a.env.Fire(conn.EnvFreeze)
	conntest.Eventually(t, c.hub.Leading, "the other tab leads at once")
	assert.False(t, a.hub.Leading())
	b.srv.Plug()
	c.hub.ForceReconnect()
	conntest.Eventually(t, func() bool { return len(b.srv.Messages("room-1")) == 1 }, "sent by the new leader")
	conntest.Eventually(t, func() bool { return slices.Equal(c.bodies("room-1"), []string{"typed before the freeze"}) }, "shown: %v", c.bodies("room-1"))

	// The frozen page runs again: it follows, and gets what it missed.
	b.srv.Publish("room-1", "while it was frozen")
	a.env.Fire(conn.EnvResume)
	conntest.Eventually(t, func() bool { return len(a.bodies("room-1")) == 2 }, "caught up: %v", a.bodies("room-1"))
	assert.False(t, a.hub.Leading(), "the lead stays with the tab that took it")
	conntest.Eventually(t, func() bool { return a.hub.Status().State == conn.StateConnected }, "the leader's status")
	assert.Len(t, b.srv.Messages("room-1"), 2, "nothing sent twice")
}

func TestAVisibleFollowerKeepsTheLeadersServiceAtTheVisiblePace(t *testing.T) {
	b := newBrowser(t)
	var mu sync.Mutex
	var envs []conn.Environment
	b.onStart = func(env conn.Environment) { mu.Lock(); envs = append(envs, env); mu.Unlock() }
	a := b.open()
	conntest.Eventually(t, a.hub.Leading, "the first tab leads")
	c := b.open()
	conntest.Eventually(t, connected(c.hub), "connected")
	mu.Lock()
	env := envs[0]
	mu.Unlock()

	// The leader's tab goes to the background; the follower is in front.
	a.env.Fire(conn.EnvHidden)
	conntest.Eventually(t, func() bool { return env.Visible() }, "the follower in front keeps the service visible")
	c.env.Fire(conn.EnvHidden)
	conntest.Eventually(t, func() bool { return !env.Visible() }, "every tab hidden: the service is hidden")
	c.env.Fire(conn.EnvVisible)
	conntest.Eventually(t, func() bool { return env.Visible() }, "the follower shown again")
	c.hub.Close()
	conntest.Eventually(t, func() bool { return !env.Visible() }, "the follower closed")
}
