//go:build !wasm

package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/store/postgres/pgtest"
)

// BenchmarkCrossNodeFanOut measures the delivery from one node to another
// through PostgreSQL: two nodes on one database, a sender on node A, N
// subscribers on node B, all in this process (the clients share the machine
// with both servers and the database).
//
// Each iteration sends one message; "flat-out" keeps up to 64
// unacknowledged (its latency is mostly the wait behind them on A's socket,
// since a connection's sends are stored one after the other), "paced-N"
// sends N a second. Reported: messages delivered to subscribers per second,
// and the latency from the send on A to the arrival on B (p50, p99).
//
//	go test -run '^$' -bench CrossNodeFanOut -benchtime 2000x ./server/
func BenchmarkCrossNodeFanOut(b *testing.B) {
	for _, subs := range []int{10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d/flat-out", subs), func(b *testing.B) { benchFanOut(b, subs, 0) })
		for _, perSecond := range []int{100, 400} {
			b.Run(fmt.Sprintf("subscribers=%d/paced-%d", subs, perSecond), func(b *testing.B) {
				benchFanOut(b, subs, time.Second/time.Duration(perSecond))
			})
		}
	}
}

// benchNode runs a node on the database at db, without a send limit, and
// with room for a long queue: the subscribers read as fast as they can and
// must never be cut for being slow.
func benchNode(b *testing.B, db string) *Main {
	return startSharedNode(b, db, func(m *Main) {
		m.Chat.SendRate, m.Chat.SendBurst = rate.Inf, 1<<20
		m.Chat.SendQueue = 1 << 16
	})
}

func benchDial(b *testing.B, m *Main, room, user string) *native.Conn {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok, err := native.DevToken(ctx, m.URL(), room, user, user, wire.RoleTherapist)
	if err != nil {
		b.Fatal(err)
	}
	c, err := native.Dial(ctx, m.URL(), tok)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func benchFanOut(b *testing.B, subscribers int, interval time.Duration) {
	db := pgtest.NewDatabase(b)
	nodeA, nodeB := benchNode(b, db), benchNode(b, db)
	const room = "bench"

	// Every send time, by message number (the body).
	var sentMu sync.Mutex
	sent := map[int]time.Time{}
	var delivered atomic.Int64
	var lastDelivery atomic.Int64 // unix nanoseconds
	latencies := make([][]time.Duration, subscribers)
	var readers sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range subscribers {
		c := benchDial(b, nodeB, room, fmt.Sprintf("sub%d", i))
		if _, err := c.SubscribeAndWait(ctx, room, 0); err != nil {
			b.Fatal(err)
		}
		readers.Go(func() {
			for {
				f, err := c.Next(ctx)
				if err != nil {
					return
				}
				m, ok := f.(*wire.Message)
				if !ok {
					continue
				}
				now := time.Now()
				n, _ := strconv.Atoi(m.Body)
				sentMu.Lock()
				at := sent[n]
				sentMu.Unlock()
				latencies[i] = append(latencies[i], now.Sub(at))
				lastDelivery.Store(now.UnixNano())
				delivered.Add(1)
			}
		})
	}

	sender := benchDial(b, nodeA, room, "sender")
	window := make(chan struct{}, 64)
	var acks sync.WaitGroup
	acks.Go(func() {
		for {
			f, err := sender.Next(ctx)
			if err != nil {
				return
			}
			if _, ok := f.(*wire.Ack); ok {
				<-window
			}
		}
	})

	var tick *time.Ticker
	if interval > 0 {
		tick = time.NewTicker(interval)
		defer tick.Stop()
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		if tick != nil {
			<-tick.C
		}
		window <- struct{}{}
		n++
		sentMu.Lock()
		sent[n] = time.Now()
		sentMu.Unlock()
		if err := sender.Send(ctx, room, fmt.Sprintf("m%d", n), strconv.Itoa(n)); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(n * subscribers)
	deadline := time.Now().Add(60 * time.Second)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := delivered.Load(); got != want {
		b.Fatalf("delivered %d of %d", got, want)
	}
	elapsed := time.Unix(0, lastDelivery.Load()).Sub(start)
	cancel()
	sender.Close()
	readers.Wait()
	acks.Wait()

	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(want)/elapsed.Seconds(), "delivered/s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "sent/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // the send rate is what the window allows, not a cost per op
}
