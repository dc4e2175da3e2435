package conn_test

import (
	"fmt"
	"reflect"
	"time"

	"tether/conn"
	"tether/conn/wire"
)

// driver runs a Machine through Next, as the service does, and remembers
// the ids its effects hand out so a test can answer them.
type driver struct {
	m        conn.Machine
	now      time.Time
	fx       []conn.Effect // of the last step
	after    map[uint64]time.Duration
	dial     uint64
	token    uint64
	probe    uint64
	ping     int64
	polls    map[string]uint64
	fetches  map[string]conn.FetchHistory
	posts    map[string]uint64
	sent     []string // client ids sent on sockets
	frames   []wire.Frame
	closed   bool
	failures []string
}

func newDriver(cfg conn.Config, init conn.Init) *driver {
	return &driver{
		m:       conn.NewMachine(cfg, init),
		now:     time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC),
		after:   map[uint64]time.Duration{},
		polls:   map[string]uint64{},
		fetches: map[string]conn.FetchHistory{},
		posts:   map[string]uint64{},
	}
}

// step applies ev and checks the invariants; broken ones pile up in
// failures.
func (d *driver) step(ev conn.Event) []conn.Effect {
	before := d.m.Status()
	wasClosed := d.closed
	next, fx := conn.Next(d.m, d.now, ev)
	if d.m.Status() != before {
		d.fail("Next changed its input on %T", ev)
	}
	if _, again := conn.Next(d.m, d.now, ev); !reflect.DeepEqual(fx, again) {
		d.fail("Next is not deterministic on %T: %v then %v", ev, fx, again)
	}
	d.m, d.fx = next, fx
	if err := d.m.Check(); err != nil {
		d.fail("after %T %+v: %v", ev, ev, err)
	}
	if wasClosed && len(fx) > 0 {
		d.fail("effects after close: %T gave %v", ev, fx)
	}
	if d.m.Attempts() < 0 || d.m.Status().ReconnectAttempts < 0 {
		d.fail("negative attempts")
	}
	for _, f := range fx {
		switch f := f.(type) {
		case conn.StartTimer:
			d.after[f.ID] = f.After
		case conn.Dial:
			d.dial = f.Gen
		case conn.FetchToken:
			d.token = f.Req
		case conn.Probe:
			d.probe = f.Req
		case conn.Poll:
			d.polls[f.Room] = f.Req
		case conn.FetchHistory:
			d.fetches[f.Room] = f
		case conn.Post:
			d.posts[f.ClientID] = f.Req
		case conn.SendFrame:
			d.frames = append(d.frames, f.Frame)
			switch fr := f.Frame.(type) {
			case *wire.Ping:
				d.ping = fr.ID
			case *wire.Send:
				d.sent = append(d.sent, fr.ClientID)
			}
		}
		if _, closing := ev.(conn.CloseRequested); closing || wasClosed {
			switch f.(type) {
			case conn.StartTimer, conn.Dial, conn.FetchToken, conn.Probe, conn.Poll, conn.FetchHistory, conn.Post, conn.SendFrame:
				d.fail("%T scheduled by close", f)
			}
		}
	}
	if _, ok := ev.(conn.CloseRequested); ok {
		d.closed = true
	}
	return fx
}

func (d *driver) fail(format string, args ...any) {
	d.failures = append(d.failures, fmt.Sprintf(format, args...))
}

func (d *driver) frame(f wire.Frame) []conn.Effect {
	return d.step(conn.FrameReceived{Gen: d.m.Gen(), Frame: f})
}

// connect takes a fresh driver to connected.
func (d *driver) connect() *driver {
	d.step(conn.Started{})
	d.step(conn.TokenReady{Req: d.token, Token: "token-1"})
	d.step(conn.Dialed{Gen: d.dial})
	d.now = d.now.Add(40 * time.Millisecond)
	d.frame(&wire.Welcome{Session: "s1"})
	return d
}

func has[T conn.Effect](fx []conn.Effect) (T, bool) {
	for _, f := range fx {
		if t, ok := f.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

func delivered(fx []conn.Effect) []int64 {
	var seqs []int64
	for _, f := range fx {
		if dv, ok := f.(conn.Deliver); ok {
			for _, m := range dv.Messages {
				seqs = append(seqs, m.Seq)
			}
		}
	}
	return seqs
}
