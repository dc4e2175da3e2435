package conn_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/wire"
)

func connectedDriver(t *testing.T) *driver {
	t.Helper()
	d := newDriver(conn.Config{}, conn.Init{Online: true, Visible: true, Seed: 1}).connect()
	require.Equal(t, conn.StateConnected, d.m.State())
	require.Empty(t, d.failures)
	return d
}

func TestNextIsPure(t *testing.T) {
	t.Parallel()
	d := connectedDriver(t)
	d.step(conn.RoomWanted{Room: "room-1"})
	d.frame(&wire.Message{Room: "room-1", Seq: 3})
	m0 := d.m
	before := m0.Status()
	ev := conn.SocketClosed{Gen: m0.Gen(), Code: wire.CloseAbnormal}
	m1, fx1 := conn.Next(m0, d.now, ev)
	m2, fx2 := conn.Next(m0, d.now, ev)
	assert.Equal(t, before, m0.Status(), "the input is untouched")
	assert.Equal(t, fx1, fx2, "the same state and event give the same effects, jitter included")
	assert.Equal(t, m1.Status(), m2.Status())
	assert.Equal(t, conn.StateReconnecting, m1.State())
	assert.Equal(t, conn.StateConnected, m0.State())
}

func TestStaleEventsAreDropped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   func(d *driver, oldGen uint64) conn.Event
	}{
		{"a frame of an older socket", func(_ *driver, old uint64) conn.Event {
			return conn.FrameReceived{Gen: old, Frame: &wire.Message{Room: "room-1", Seq: 1}}
		}},
		{"a close of an older socket", func(_ *driver, old uint64) conn.Event {
			return conn.SocketClosed{Gen: old, Code: wire.CloseAbnormal}
		}},
		{"a timer that was restarted since", func(d *driver, _ uint64) conn.Event {
			return conn.TimerFired{Timer: conn.TimerTick, ID: d.m.TimerID(conn.TimerTick) - 1}
		}},
		{"a timer that is not running", func(*driver, uint64) conn.Event {
			return conn.TimerFired{Timer: conn.TimerRestore, ID: 0}
		}},
		{"a timer kind that does not exist", func(*driver, uint64) conn.Event {
			return conn.TimerFired{Timer: conn.TimerKind(99), ID: 1}
		}},
		{"an answer to a probe nobody asked", func(*driver, uint64) conn.Event { return conn.ProbeDone{Req: 12345} }},
		{"a token nobody asked for", func(*driver, uint64) conn.Event { return conn.TokenReady{Req: 12345, Token: "x"} }},
		{"a poll of another time", func(*driver, uint64) conn.Event { return conn.PollDone{Req: 12345, Room: "room-1"} }},
		{"a page of another time", func(*driver, uint64) conn.Event { return conn.HistoryDone{Req: 12345, Room: "room-1"} }},
		{"a post of a message not in the outbox", func(*driver, uint64) conn.Event { return conn.PostDone{Req: 1, ClientID: "nope"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := connectedDriver(t)
			d.step(conn.RoomWanted{Room: "room-1"})
			old := d.m.Gen()
			d.step(conn.ReconnectRequested{})
			d.step(conn.Dialed{Gen: d.dial})
			d.frame(&wire.Welcome{Session: "s2"})
			require.NotEqual(t, old, d.m.Gen())
			before := d.m.Status()
			fx := d.step(tt.ev(d, old))
			assert.Empty(t, fx)
			assert.Equal(t, before, d.m.Status())
		})
	}

	t.Run("a socket that opens for an older generation is closed", func(t *testing.T) {
		t.Parallel()
		d := connectedDriver(t)
		old := d.m.Gen()
		d.step(conn.ReconnectRequested{})
		fx := d.step(conn.Dialed{Gen: old})
		cs, ok := has[conn.CloseSocket](fx)
		require.True(t, ok)
		assert.Equal(t, old, cs.Gen)
	})
}

func TestNothingRunsAfterClose(t *testing.T) {
	t.Parallel()
	d := connectedDriver(t)
	d.step(conn.RoomWanted{Room: "room-1"})
	d.step(conn.SendRequested{Entry: conn.OutboxEntry{ClientID: "c-1", Room: "room-1", Body: "x"}})
	fx := d.step(conn.CloseRequested{})
	_, closes := has[conn.CloseSocket](fx)
	assert.True(t, closes)
	_, persists := has[conn.Persist](fx)
	assert.True(t, persists)
	assert.Empty(t, d.m.Timers())
	assert.Equal(t, conn.StateClosed, d.m.State())
	for _, ev := range []conn.Event{
		conn.Started{}, conn.ReconnectRequested{}, conn.EnvChanged{Event: conn.EnvOnline},
		conn.TimerFired{Timer: conn.TimerTick, ID: 1}, conn.RoomWanted{Room: "room-2"}, conn.CloseRequested{},
	} {
		d.step(ev)
	}
	assert.Empty(t, d.failures)
}

func TestStatusFollowsTheState(t *testing.T) {
	t.Parallel()
	fresh := func() *driver { return newDriver(conn.Config{}, conn.Init{Online: true, Visible: true}) }
	tests := []struct {
		name string
		run  func(d *driver)
		want conn.Status
	}{
		{"a new machine is connecting", func(d *driver) { d.step(conn.Started{}) },
			conn.Status{State: conn.StateConnecting, Quality: conn.QualityDisconnected, ConnectionType: conn.TransportNone}},
		{"a welcome is connected over websocket", func(d *driver) { d.connect() },
			conn.Status{State: conn.StateConnected, IsConnected: true, Quality: conn.QualityExcellent, Latency: 40 * time.Millisecond, ConnectionType: conn.TransportWebSocket}},
		{"offline outranks the socket", func(d *driver) { d.connect(); d.step(conn.EnvChanged{Event: conn.EnvOffline}) },
			conn.Status{State: conn.StateOffline, Quality: conn.QualityDisconnected, ConnectionType: conn.TransportNone}},
		{"closed is closed", func(d *driver) { d.connect(); d.step(conn.CloseRequested{}) },
			conn.Status{State: conn.StateClosed, Quality: conn.QualityDisconnected, ConnectionType: conn.TransportNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := fresh()
			tt.run(d)
			assert.Equal(t, tt.want, d.m.Status())
			assert.Empty(t, d.failures)
		})
	}
}

func TestPagesThatArriveBeforeTheReplayEndsWaitTheirTurn(t *testing.T) {
	t.Parallel()
	d := connectedDriver(t)
	d.step(conn.RoomWanted{Room: "room-1"})
	fx := d.frame(&wire.Subscribed{Room: "room-1", Head: 700, Recovered: false})
	fh, ok := has[conn.FetchHistory](fx)
	require.True(t, ok)
	assert.Equal(t, int64(500), fh.Since, "the replay covers the first 500")
	assert.Equal(t, 200, fh.Limit)

	page := wire.MessagesPage{Head: 700}
	for s := int64(501); s <= 700; s++ {
		page.Messages = append(page.Messages, wire.Message{Room: "room-1", Seq: s})
	}
	fx = d.step(conn.HistoryDone{Req: fh.Req, Room: "room-1", Page: page})
	assert.Empty(t, delivered(fx), "nothing before the replay")
	_, again := has[conn.FetchHistory](fx)
	assert.False(t, again, "the page is not read twice")

	var got []int64
	for s := int64(1); s <= 500; s++ {
		got = append(got, delivered(d.frame(&wire.Message{Room: "room-1", Seq: s}))...)
	}
	assert.Equal(t, conntest.SeqRange(1, 700), got)
	assert.Equal(t, int64(700), d.m.LastSeq("room-1"))
	assert.Empty(t, d.failures)
}

func TestAGapWithARefusedPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		err   error
		state conn.State
		fails bool
	}{
		{"a forbidden page fails the room", &conn.HTTPError{Status: 403, Code: wire.CodeForbidden}, conn.StateConnected, true},
		{"an unauthorized page asks for a new token", &conn.HTTPError{Status: 401, Code: wire.CodeUnauthorized}, conn.StateConnected, false},
		{"a network error waits for the tick", errors.New("reset"), conn.StateConnected, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := connectedDriver(t)
			d.step(conn.RoomWanted{Room: "room-1"})
			fx := d.frame(&wire.Message{Room: "room-1", Seq: 4})
			fh, ok := has[conn.FetchHistory](fx)
			require.True(t, ok)
			fx = d.step(conn.HistoryDone{Req: fh.Req, Room: "room-1", Err: tt.err})
			_, failed := has[conn.FailRoom](fx)
			assert.Equal(t, tt.fails, failed)
			assert.Equal(t, tt.state, d.m.State())
			assert.Empty(t, d.failures)
		})
	}
}

func TestTimerNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "retry", conn.TimerRetry.String())
	assert.Equal(t, "outbox", conn.TimerOutbox.String())
	assert.Equal(t, "timer?", conn.TimerKind(-1).String())
}
