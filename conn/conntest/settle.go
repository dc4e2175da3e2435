package conntest

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"tether/conn"
)

// SettleTimeout is how long Settle waits in real time before it gives up:
// far longer than a service on the fakes takes, even on a loaded machine.
const SettleTimeout = 10 * time.Second

// Settle waits until svc, wired to srv and clock, has nothing left to do
// until the clock moves, firing on the caller's goroutine the timers
// already due (and those their work makes due). Each of quiet must hold
// too: the idleness of code built on the service with goroutines of its
// own, such as the chat store. It returns an error after SettleTimeout, so
// that a test fails and a benchmark reports a service that never rests.
func Settle(svc *conn.Service, srv *Server, clock *Clock, quiet ...func() bool) error {
	deadline := time.Now().Add(SettleTimeout)
	settled := func() bool {
		if !conn.Settled(svc, srv.Blocked) {
			return false
		}
		for _, q := range quiet {
			if !q() {
				return false
			}
		}
		return true
	}
	for {
		if settled() {
			// A goroutine about to post an event may not have run yet.
			runtime.Gosched()
			if settled() && clock.FireDue() == 0 {
				return nil
			}
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the service did not settle within %s", SettleTimeout)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// Advance moves clock by d, settling svc before and after each timer due
// on the way, so that the service reacts to each at its own time, as it
// would on a real clock. quiet is Settle's.
func Advance(svc *conn.Service, srv *Server, clock *Clock, d time.Duration, quiet ...func() bool) error {
	target := clock.Now().Add(d)
	if err := Settle(svc, srv, clock, quiet...); err != nil {
		return err
	}
	for clock.Step(target) {
		if err := Settle(svc, srv, clock, quiet...); err != nil {
			return err
		}
	}
	clock.Set(target)
	return Settle(svc, srv, clock, quiet...)
}

// Eventually fails t unless cond holds within 10 s of real time, polling
// it every 5 ms on the caller's goroutine. It is for what runs on real
// time (a real browser, goroutines talking over channels); a service on a
// Clock is settled instead.
func Eventually(t testing.TB, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(msg, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
