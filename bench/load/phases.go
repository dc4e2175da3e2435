//go:build !wasm

package main

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tether/conn/native"
)

// target is one server under the harness.
type target struct {
	proto protocol
	start func() (*serverProcess, error)
	token func(user, room string) (string, error)
	// tokenRooms signs a token for several rooms (tether only: the abuse
	// phase's abuser).
	tokenRooms func(user string, rooms []string) (string, error)
	// startTmpfs starts the server with its data in memory (tether only):
	// the load phase measures the half load there too, the software's own
	// latency without the disk's stalls.
	startTmpfs func() (*serverProcess, error)
}

// holdResult is the idle-connection phase: how many sockets the server held
// and what each cost it.
type holdResult struct {
	Requested        int     `json:"requested"`
	Held             int     `json:"held"`
	OpenSeconds      float64 `json:"open_seconds"`
	BaselineRSSKiB   float64 `json:"baseline_rss_kib"`
	RSSKiB           float64 `json:"rss_kib"`
	KiBPerConnection float64 `json:"kib_per_connection"`
	PSSKiBPerConn    float64 `json:"pss_kib_per_connection"`
	// RSSSamplesKiB is the server's RSS while the connections were held,
	// every 10 s.
	RSSSamplesKiB []int64 `json:"rss_samples_kib"`
	OpenError     string  `json:"open_error,omitempty"`
}

// runHold opens n idle connections (hello and subscribe done, rooms of two)
// and measures the server's resident memory before and after, once the
// connections have been held for settle.
func runHold(t target, n int, settle time.Duration) (holdResult, error) {
	res := holdResult{Requested: n}
	srv, err := t.start()
	if err != nil {
		return res, err
	}
	defer srv.stop(30 * time.Second)
	time.Sleep(2 * time.Second)
	base, err := readMemory(srv.Pid())
	if err != nil {
		return res, err
	}
	p := newPool(t.proto, srv.URL, t.token)
	defer p.close()
	start := time.Now()
	if err := p.open(context.Background(), n, 32, pairs("h")); err != nil {
		res.OpenError = err.Error()
		log.Printf("%s: opening %d connections stopped: %v", t.proto.Name(), n, err)
	}
	res.OpenSeconds = time.Since(start).Seconds()
	opened := len(p.Conns())
	log.Printf("%s: %d connections open in %.1f s; holding them %v", t.proto.Name(), opened, res.OpenSeconds, settle)
	for end := time.Now().Add(settle); time.Until(end) > 0; {
		time.Sleep(min(10*time.Second, time.Until(end)))
		if m, err := readMemory(srv.Pid()); err == nil {
			res.RSSSamplesKiB = append(res.RSSSamplesKiB, m.RSS>>10)
		}
	}
	mem, err := readMemory(srv.Pid())
	if err != nil {
		return res, err
	}
	res.Held = opened - int(p.sink.closed.Load())
	res.BaselineRSSKiB = float64(base.RSS) / 1024
	res.RSSKiB = float64(mem.RSS) / 1024
	if res.Held > 0 {
		res.KiBPerConnection = round1(float64(mem.RSS-base.RSS) / 1024 / float64(res.Held))
		res.PSSKiBPerConn = round1(float64(mem.PSS-base.PSS) / 1024 / float64(res.Held))
	}
	if !srv.alive() {
		return res, fmt.Errorf("%s died while holding the connections:\n%s", t.proto.Name(), srv.Output())
	}
	return res, nil
}

// step is one offered load held for a measured window.
type step struct {
	OfferedPerS   float64 `json:"offered_publishes_per_s"`
	PublishedPerS float64 `json:"published_per_s"`
	AckedPerS     float64 `json:"acked_per_s"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	ServerCores   float64 `json:"server_cores"`
	ClientCores   float64 `json:"client_cores"`
	PerCore       float64 `json:"delivered_per_s_per_server_core"`
	P50MS         float64 `json:"p50_ms"`
	P95MS         float64 `json:"p95_ms"`
	P99MS         float64 `json:"p99_ms"`
	MaxMS         float64 `json:"max_ms"`
	Errors        int64   `json:"errors"`
	KeptUp        bool    `json:"kept_up"`
	// StoreOver10ms is the share of the window's appends that took tether's
	// store over 10 ms (from its /metrics); nil for the peer.
	StoreOver10ms *float64 `json:"store_appends_over_10ms,omitempty"`
}

// runStep makes every connection of p publish at its share of rate
// (publishes a second, all connections together) for warm and then a
// measured window. Deliveries count every subscriber's copy, the sender's
// own echo included; latency is publish → receive at the other member.
func runStep(p *pool, srv *serverProcess, rate float64, warm, window time.Duration) step {
	conns := p.Conns()
	interval := time.Duration(float64(len(conns)) / rate * float64(time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	var published atomic.Int64
	delivered0 := p.sink.delivered.Load()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			next := time.Now().Add(rand.N(interval))
			for {
				if d := time.Until(next); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				if ctx.Err() != nil {
					return
				}
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				err := p.proto.publish(wctx, c, fullPayload(c.idx))
				wcancel()
				if err != nil {
					if ctx.Err() == nil {
						p.sink.fail("publish: " + err.Error())
					}
					return
				}
				published.Add(1)
				next = next.Add(interval)
			}
		})
	}
	time.Sleep(warm)
	type snap struct {
		at                              time.Time
		published, acked, delivered, ec int64
		server, client                  time.Duration
		appends                         appendCounts
		appendsOK                       bool
	}
	take := func() snap {
		s := snap{at: time.Now(), published: published.Load(), acked: p.sink.acks.Load(),
			delivered: p.sink.delivered.Load(), ec: p.sink.errors.Load()}
		s.appends, s.appendsOK = storeAppends(srv.MetricsURL)
		s.server, s.client = cpuNow(srv)
		return s
	}
	a, b, hist := measure(p, window, take)
	cancel()
	wg.Wait()
	// What a server fell behind on still arrives after the step: the next
	// step (the half-load run after an overloaded one) must not measure it.
	drain(p, delivered0+2*published.Load())
	secs := b.at.Sub(a.at).Seconds()
	s := step{
		OfferedPerS:   math.Round(rate),
		PublishedPerS: math.Round(float64(b.published-a.published) / secs),
		AckedPerS:     math.Round(float64(b.acked-a.acked) / secs),
		DeliveredPerS: math.Round(float64(b.delivered-a.delivered) / secs),
		ServerCores:   round2((b.server - a.server).Seconds() / secs),
		ClientCores:   round2((b.client - a.client).Seconds() / secs),
		P50MS:         ms(hist.Quantile(0.50)),
		P95MS:         ms(hist.Quantile(0.95)),
		P99MS:         ms(hist.Quantile(0.99)),
		MaxMS:         ms(hist.Max()),
		Errors:        b.ec - a.ec,
	}
	if s.ServerCores > 0 {
		s.PerCore = math.Round(s.DeliveredPerS / s.ServerCores)
	}
	if a.appendsOK && b.appendsOK && b.appends.total > a.appends.total {
		slow := (b.appends.total - b.appends.within10ms) - (a.appends.total - a.appends.within10ms)
		s.StoreOver10ms = ptr(round3(slow / (b.appends.total - a.appends.total)))
	}
	// Every publish reaches both members of its room.
	s.KeptUp = s.DeliveredPerS >= 0.9*2*rate && s.P99MS < 1000 && s.Errors == 0
	return s
}

// appendCounts are tether's store appends so far, from its histogram.
type appendCounts struct{ total, within10ms float64 }

// storeAppends reads tether's metrics at url; false when the server has
// none (the peer: url is empty) or they do not answer.
func storeAppends(url string) (appendCounts, bool) {
	var c appendCounts
	if url == "" {
		return c, false
	}
	res, err := http.Get(url)
	if err != nil {
		return c, false
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return c, false
	}
	var found int
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case `tether_store_seconds_count{op="append"}`:
			dst = &c.total
		case `tether_store_seconds_bucket{op="append",le="0.01"}`:
			dst = &c.within10ms
		default:
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			*dst = v
			found++
		}
	}
	return c, found == 2
}

// drain waits until the pool has received want deliveries in all, every
// publish of the step reaching both members, or until nothing more arrives
// for 5 s (a publish that was lost, which the step has counted as an error).
func drain(p *pool, want int64) {
	start := time.Now()
	last, lastChange := p.sink.delivered.Load(), time.Now()
	for {
		got := p.sink.delivered.Load()
		if got >= want {
			if d := time.Since(start); d > time.Second {
				log.Printf("%s: the server took %.1f s to deliver what it had fallen behind on", p.proto.Name(), d.Seconds())
			}
			return
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 5*time.Second {
			log.Printf("%s: %d deliveries never arrived", p.proto.Name(), want-got)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// throughputResult is the load phase of one server.
type throughputResult struct {
	Connections int    `json:"connections"`
	Steps       []step `json:"steps"`
	// Best is the step that delivered most while keeping up (or the most
	// of any step when none kept up).
	Best step `json:"best"`
	// Half is the latency run at half of Best's offered load.
	Half step `json:"half_load"`
	// HalfTmpfs is the same run on a server whose data folder is on tmpfs
	// (tether only): every commit still goes through SQLite and its
	// fsync, which tmpfs answers at once.
	HalfTmpfs *step `json:"half_load_tmpfs,omitempty"`
}

// startWithPool starts a server of t and opens conns connections to it,
// parallel at a time, roomOf naming their rooms. The caller closes the pool
// and stops the server.
func startWithPool(t target, conns, parallel int, roomOf func(idx int) string) (*serverProcess, *pool, error) {
	srv, err := t.start()
	if err != nil {
		return nil, nil, err
	}
	p := newPool(t.proto, srv.URL, t.token)
	if err := p.open(context.Background(), conns, parallel, roomOf); err != nil {
		p.close()
		srv.stop(30 * time.Second)
		return nil, nil, err
	}
	return srv, p, nil
}

// runThroughput opens conns connections (rooms of two) and raises the
// offered load through rates until the server stops keeping up, then
// measures latency at half the best load.
func runThroughput(t target, conns int, rates []float64, warm, window, halfWindow time.Duration) (throughputResult, error) {
	res := throughputResult{Connections: conns}
	srv, p, err := startWithPool(t, conns, 32, pairs("t"))
	if err != nil {
		return res, err
	}
	for _, rate := range rates {
		s := runStep(p, srv, rate, warm, window)
		log.Printf("%s: offered %.0f/s: published %.0f/s, delivered %.0f/s on %.2f server cores (%.0f per core), client %.2f cores, p50 %.2f ms, p99 %.2f ms, errors %d",
			t.proto.Name(), rate, s.PublishedPerS, s.DeliveredPerS, s.ServerCores, s.PerCore, s.ClientCores, s.P50MS, s.P99MS, s.Errors)
		res.Steps = append(res.Steps, s)
		if !s.KeptUp {
			break
		}
	}
	res.Best = bestStep(res.Steps)
	alive := srv.alive()
	p.close()
	srv.stop(30 * time.Second)
	if !alive {
		return res, fmt.Errorf("%s died under load:\n%s", t.proto.Name(), srv.Output())
	}
	// The latency at half load is a server's in its stride, not one paying
	// off the overload that ended the steps (for tether, hundreds of MB of
	// database the kernel still writes back): a fresh server, after a sync.
	syscall.Sync()
	if srv, p, err = startWithPool(t, conns, 32, pairs("t")); err != nil {
		return res, err
	}
	res.Half = runStep(p, srv, res.Best.OfferedPerS/2, warm, halfWindow)
	logHalf(t, "half load", res.Half, p)
	p.close()
	srv.stop(30 * time.Second)
	if t.startTmpfs == nil {
		return res, nil
	}
	tmpfs := t
	tmpfs.start = t.startTmpfs
	if srv, p, err = startWithPool(tmpfs, conns, 32, pairs("t")); err != nil {
		return res, fmt.Errorf("failed to start on tmpfs: %w", err)
	}
	defer srv.stop(30 * time.Second)
	defer p.close()
	half := runStep(p, srv, res.Best.OfferedPerS/2, warm, halfWindow)
	logHalf(t, "half load, data on tmpfs", half, p)
	res.HalfTmpfs = &half
	return res, nil
}

// logHalf logs a half-load run.
func logHalf(t target, what string, s step, p *pool) {
	log.Printf("%s: %s %.0f/s: delivered %.0f/s, p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, server %.2f cores",
		t.proto.Name(), what, s.OfferedPerS, s.DeliveredPerS, s.P50MS, s.P95MS, s.P99MS, s.ServerCores)
	if o := s.StoreOver10ms; o != nil {
		log.Printf("%s: %s: %.1f %% of the appends took the store over 10 ms", t.proto.Name(), what, *o*100)
	}
	if last := p.sink.lastError.Load(); last != nil {
		log.Printf("%s: last error: %s", t.proto.Name(), *last)
	}
}

// bestStep picks the step that delivered most among those that kept up,
// or the most of all when none did.
func bestStep(steps []step) step {
	var best step
	found := false
	for _, s := range steps {
		if s.KeptUp && (!found || s.DeliveredPerS > best.DeliveredPerS) {
			best, found = s, true
		}
	}
	if found {
		return best
	}
	for _, s := range steps {
		if s.DeliveredPerS > best.DeliveredPerS {
			best = s
		}
	}
	return best
}

// longPollResult is tether's HTTP fallback under a steady load.
type longPollResult struct {
	Rooms     int     `json:"rooms"`
	PerS      float64 `json:"messages_per_s"`
	Delivered int64   `json:"delivered"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	Errors    int64   `json:"errors"`
}

// runLongPoll gives rooms rooms one member on a WebSocket who sends
// perRoom messages a second and one who long-polls over HTTP (conn/native's
// client), and measures publish → receive at the poller.
func runLongPoll(t target, rooms int, perRoom float64, warm, window time.Duration) (longPollResult, error) {
	res := longPollResult{Rooms: rooms, PerS: float64(rooms) * perRoom}
	roomOf := alone("lp")
	srv, p, err := startWithPool(t, rooms, 16, roomOf)
	if err != nil {
		return res, err
	}
	defer srv.stop(30 * time.Second)
	defer p.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	transport := &http.Transport{MaxIdleConnsPerHost: rooms, MaxConnsPerHost: 0}
	client := &http.Client{Transport: transport}
	defer transport.CloseIdleConnections()
	hist := &histogram{}
	var measuring atomic.Bool
	var delivered, errs atomic.Int64
	var wg sync.WaitGroup
	for i := range rooms {
		room := roomOf(i)
		token, err := t.token(fmt.Sprintf("poller%d", i), room)
		if err != nil {
			return res, err
		}
		h := &native.HTTPClient{BaseURL: srv.URL, Token: token, Client: client}
		wg.Go(func() {
			var since int64
			for ctx.Err() == nil {
				page, err := h.Messages(ctx, room, since, 25*time.Second)
				at := stamp()
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						time.Sleep(100 * time.Millisecond)
					}
					continue
				}
				for _, m := range page.Messages {
					since = max(since, m.Seq)
					sent, _, ok := parseBody([]byte(m.Body))
					if !ok {
						errs.Add(1)
						continue
					}
					if measuring.Load() {
						hist.record(time.Duration(at - sent))
						delivered.Add(1)
					}
				}
			}
		})
	}
	time.Sleep(time.Second) // every poll waits before the first message
	step := runStepAsync(p, perRoom*float64(rooms))
	time.Sleep(warm)
	measuring.Store(true)
	time.Sleep(window)
	measuring.Store(false)
	step()
	cancel()
	wg.Wait()
	res.Delivered = delivered.Load()
	res.P50MS, res.P99MS, res.MaxMS = ms(hist.Quantile(0.5)), ms(hist.Quantile(0.99)), ms(hist.Max())
	res.Errors = errs.Load() + p.sink.errors.Load()
	log.Printf("%s: long-poll, %d rooms at %.0f/s: %d delivered, p50 %.2f ms, p99 %.2f ms, errors %d",
		t.proto.Name(), rooms, res.PerS, res.Delivered, res.P50MS, res.P99MS, res.Errors)
	return res, nil
}

// runStepAsync starts the connections of p publishing at rate and returns
// the function that stops them.
func runStepAsync(p *pool, rate float64) (stop func()) {
	conns := p.Conns()
	interval := time.Duration(float64(len(conns)) / rate * float64(time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			t := time.NewTimer(rand.N(interval))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if err := p.proto.publish(ctx, c, fullPayload(c.idx)); err != nil {
					if ctx.Err() == nil {
						p.sink.fail("publish: " + err.Error())
					}
					return
				}
				t.Reset(interval)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }
