package conn_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// FuzzNext drives the transition function with any sequence of events the
// world could produce, answers and stale ones alike, and checks the
// invariants after every step: one transport at a time, attempts never
// negative, nothing scheduled after Close, the status consistent with the
// state (Machine.Check), Next leaving its input alone, and every room's
// messages delivered once each in rising seq order.
func FuzzNext(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 0, 3, 0, 4, 0, 16, 0, 5, 1, 5, 2, 9, 6, 0, 2, 0, 1})
	f.Add([]byte{2, 0, 0, 0, 2, 0, 10, 0, 0, 0, 12, 0, 14, 0, 0, 1, 1, 3})
	f.Add([]byte{3, 0, 16, 1, 7, 0, 13, 0, 5, 200, 8, 1, 9, 8, 20, 1})
	f.Add([]byte(strings.Repeat("\x01\x00\x03\x00\x09\x02\x00\x00", 20)))
	f.Add([]byte(strings.Repeat("\x02\x00\x00\x00\x0a\x00\x00\x01\x0c\x00\x11\x05", 15)))
	f.Fuzz(runFuzzInput)
}

// maxFuzzInput caps a run at about a thousand events: longer runs add
// little, and the engine minimises every new input by replaying it.
const maxFuzzInput = 2048

// runFuzzInput is one run of FuzzNext.
func runFuzzInput(t *testing.T, data []byte) {
	if len(data) > maxFuzzInput {
		data = data[:maxFuzzInput]
	}
	online, visible := true, true
	if len(data) > 0 {
		online, visible = data[0]&1 == 0, data[0]&2 == 0
	}
	cfg := conn.Config{MaxReconnectAttempts: 3}
	if len(data) > 1 && data[1]&1 == 1 {
		cfg.DisableFallbackPolling = true
	}
	d := newDriver(cfg, conn.Init{Online: online, Visible: visible, Seed: uint64(len(data))})
	d.step(conn.Started{})
	last := map[string]int64{}
	next := func(i *int) byte {
		if *i >= len(data) {
			return 0
		}
		b := data[*i]
		*i++
		return b
	}
	for i := 2; i < len(data); {
		op, arg := next(&i), next(&i)
		d.step(fuzzEvent(d, op, arg))
		for _, fx := range d.fx {
			if dv, ok := fx.(conn.Deliver); ok {
				for _, m := range dv.Messages {
					if m.Seq <= last[dv.Room] {
						t.Fatalf("room %s got seq %d after %d", dv.Room, m.Seq, last[dv.Room])
					}
					last[dv.Room] = m.Seq
				}
			}
		}
		if len(d.failures) > 0 {
			t.Fatalf("step %d (op %d): %s", i/2, op%24, d.failures[0])
		}
	}
}

var fuzzRooms = []string{"room-a", "room-b", "room-c"}

var fuzzCodes = []wire.CloseCode{1000, 1001, 1006, 1007, 1008, 1009, 1011, 1012, 4001, 4401, 4403, 4429, 3000}

var fuzzErrorCodes = []string{wire.CodeForbidden, wire.CodeRateLimited, wire.CodeInternal, wire.CodeUnavailable, wire.CodeInvalidBody, wire.CodeBadFrame, wire.CodeConflict, "mystery"}

var fuzzEnv = []conn.EnvEvent{conn.EnvOnline, conn.EnvOffline, conn.EnvVisible, conn.EnvHidden, conn.EnvPageShow, conn.EnvResume, conn.EnvFreeze}

func fuzzErr(arg byte) error {
	switch arg % 6 {
	case 0:
		return nil
	case 1:
		return errors.New("network")
	case 2:
		return &conn.HTTPError{Status: 401, Code: wire.CodeUnauthorized}
	case 3:
		return &conn.HTTPError{Status: 403, Code: wire.CodeForbidden}
	case 4:
		return &conn.HTTPError{Status: 429, Code: wire.CodeRateLimited, RetryAfter: time.Duration(arg) * time.Millisecond * 50}
	default:
		return &conn.HTTPError{Status: 400, Code: wire.CodeInvalidBody}
	}
}

func fuzzClientID(d *driver, arg byte) string {
	ob := d.m.Outbox()
	if len(ob) == 0 || arg&0x80 != 0 {
		return "c-" + string(rune('a'+arg%8))
	}
	return ob[int(arg)%len(ob)].ClientID
}

func fuzzEvent(d *driver, op, arg byte) conn.Event {
	room := fuzzRooms[int(arg)%len(fuzzRooms)]
	gen := d.m.Gen()
	switch op % 24 {
	case 0:
		running := d.m.Timers()
		if len(running) == 0 {
			d.now = d.now.Add(time.Second)
			return conn.TimerFired{Timer: conn.TimerRetry, ID: 1}
		}
		k := running[int(arg)%len(running)]
		d.now = d.now.Add(d.after[d.m.TimerID(k)])
		return conn.TimerFired{Timer: k, ID: d.m.TimerID(k)}
	case 1:
		return conn.Dialed{Gen: d.dial}
	case 2:
		err := fuzzErr(arg)
		if err == nil {
			err = errors.New("refused")
		}
		return conn.Dialed{Gen: d.dial, Err: err}
	case 3:
		return conn.FrameReceived{Gen: gen, Frame: &wire.Welcome{Session: "s"}}
	case 4:
		d.now = d.now.Add(time.Duration(arg) * 5 * time.Millisecond)
		return conn.FrameReceived{Gen: gen, Frame: &wire.Pong{ID: d.ping}}
	case 5:
		return conn.FrameReceived{Gen: gen, Frame: &wire.Message{Room: room, Seq: int64(arg%40) + 1, ClientID: fuzzClientID(d, arg)}}
	case 6:
		return conn.FrameReceived{Gen: gen, Frame: &wire.Ack{Room: room, ClientID: fuzzClientID(d, arg), Seq: int64(arg) + 1}}
	case 7:
		return conn.FrameReceived{Gen: gen, Frame: &wire.Subscribed{Room: room, Head: int64(arg) * 5, Recovered: arg&1 == 0}}
	case 8:
		ref := room
		if arg&0x40 != 0 {
			ref = fuzzClientID(d, arg)
		}
		return conn.FrameReceived{Gen: gen, Frame: &wire.ErrorFrame{Code: fuzzErrorCodes[int(arg)%len(fuzzErrorCodes)], Ref: ref, RetryAfterMS: int64(arg) * 10}}
	case 9:
		code := fuzzCodes[int(arg)%len(fuzzCodes)]
		reason := ""
		switch code {
		case wire.CloseDraining, wire.CloseRateLimited:
			reason = wire.RetryAfter{RetryAfterMS: int64(arg) * 40}.Reason()
		case wire.CloseForbidden:
			reason = "room=" + room
		}
		return conn.SocketClosed{Gen: gen, Code: code, Reason: reason}
	case 10:
		d.now = d.now.Add(time.Duration(arg) * time.Millisecond)
		return conn.ProbeDone{Req: d.probe, Err: fuzzErr(arg % 2)}
	case 11:
		if arg%5 == 0 {
			return conn.TokenReady{Req: d.token, Err: errors.New("no token")}
		}
		return conn.TokenReady{Req: d.token, Token: "token"}
	case 12:
		page := wire.MessagesPage{Head: int64(arg % 50)}
		for s := int64(arg%7) + 1; s <= int64(arg%7)+int64(arg%4); s++ {
			page.Messages = append(page.Messages, wire.Message{Room: room, Seq: s})
		}
		return conn.PollDone{Req: d.polls[room], Room: room, Page: page, Err: fuzzErr(arg / 7)}
	case 13:
		fh := d.fetches[room]
		page := wire.MessagesPage{Head: int64(arg)}
		if arg&1 == 0 {
			for s := fh.Since + 1; s <= fh.Since+int64(fh.Limit) && s < fh.Since+20; s++ {
				page.Messages = append(page.Messages, wire.Message{Room: room, Seq: s})
			}
		}
		return conn.HistoryDone{Req: fh.Req, Room: room, Page: page, Err: fuzzErr(arg / 11)}
	case 14:
		id := fuzzClientID(d, arg)
		return conn.PostDone{Req: d.posts[id], ClientID: id, Posted: wire.Posted{ClientID: id, Seq: 9}, Err: fuzzErr(arg / 3)}
	case 15:
		return conn.EnvChanged{Event: fuzzEnv[int(arg)%len(fuzzEnv)]}
	case 16:
		if arg&0x10 != 0 {
			return conn.RoomUnwanted{Room: room}
		}
		return conn.RoomWanted{Room: room}
	case 17:
		return conn.SendRequested{Entry: conn.OutboxEntry{ClientID: "c-" + string(rune('a'+arg%8)), Room: room, Body: "hi", Created: d.now}}
	case 18:
		if arg&1 == 0 {
			return conn.RetryRequested{ClientID: fuzzClientID(d, arg)}
		}
		return conn.DiscardRequested{ClientID: fuzzClientID(d, arg)}
	case 19:
		return conn.ReconnectRequested{}
	case 20:
		if arg == 0xff {
			return conn.CloseRequested{}
		}
		d.now = d.now.Add(time.Duration(arg) * time.Second * 7)
		return conn.EnvChanged{Event: conn.EnvResume}
	case 21:
		// Garbage ids: stale answers of every kind.
		stale := uint64(arg)
		return []conn.Event{
			conn.Dialed{Gen: stale}, conn.SocketClosed{Gen: stale, Code: 1006},
			conn.FrameReceived{Gen: stale, Frame: &wire.Welcome{Session: "x"}}, conn.ProbeDone{Req: stale},
			conn.TokenReady{Req: stale, Token: "x"}, conn.TimerFired{Timer: conn.TimerKind(arg % 10), ID: stale},
		}[int(arg)%6]
	case 22:
		return conn.FrameReceived{Gen: gen, Err: errors.New("undecodable")}
	default:
		if slices.Contains(d.m.Timers(), conn.TimerTick) && arg&1 == 0 {
			d.now = d.now.Add(10 * time.Minute) // a wall-clock jump
			return conn.TimerFired{Timer: conn.TimerTick, ID: d.m.TimerID(conn.TimerTick)}
		}
		return conn.FrameReceived{Gen: gen, Frame: &wire.Subscribed{Room: room, Head: 0, Recovered: true}}
	}
}
