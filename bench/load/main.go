//go:build !wasm

// Command load is tether's benchmark harness (`make bench`). It starts the
// tether server and a peer built on centrifuge, pinned to one core while the
// harness keeps the other, and measures on each what tether exists for:
// holding many idle connections cheaply, delivering messages fast, and (in
// Chromium, through Playwright) getting a client back quickly. It writes
// the figures as JSON and as a Markdown table.
//
//	go run ./bench/load -quick -out /tmp/bench.json
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"tether/conn/wire"
	"tether/server/auth"
)

// config is the command line.
type config struct {
	quick      bool
	out        string
	markdown   string
	tether     string
	peer       string
	hello      string
	web        string
	helloWeb   string
	playwright string
	phases     map[string]bool
	targets    map[string]bool
	holdConns  int
	render     bool
	holdSettle time.Duration
	serverCPU  string
	clientCPU  string
	rates      string
	// stormClients overrides the storm phase's clients (0: the plan's).
	stormClients int
}

// workerFlags are a cluster worker's (see runHoldWorker).
type workerFlags struct {
	on     bool
	url    string
	conns  int
	prefix string
	// abuse and abuseRooms are the abuser's process (see runAbuseWorker).
	abuse        bool
	abuseRooms   string
	abuseHistory string
	// stormData, stormRooms and stormBehind are the storm's writer's
	// process (see runStormWriter).
	stormData   string
	stormRooms  int
	stormBehind int
}

// plan is how much of each phase to run.
type plan struct {
	holdConns    int
	holdSettle   time.Duration
	loadConns    int
	rates        []float64
	warm, window time.Duration
	halfWindow   time.Duration
	lpRooms      int
	lpPerRoom    float64
	lpWindow     time.Duration
	navRuns      int
	halfOpenRuns int
	// slowRuns: first and return visits on the emulated slow phone link
	// (about two minutes each: the wasms cross at 40 KB/s).
	slowRuns   int
	diskWindow time.Duration
	// The abuse phase: normal users, their publishes a second, the
	// abuser's rooms, each window (without the abuser, then with it) and
	// how long RSS is watched after the abuser's window.
	abuseUsers  int
	abuseRate   float64
	abuseRooms  int
	abuseWindow time.Duration
	abuseSettle time.Duration
	// The storm phase: its clients (rooms of two; cut to the open-file
	// limit like holdConns), the messages each room falls behind by while
	// the server is down, and how long they may take to catch up.
	stormClients int
	stormBehind  int
	stormWait    time.Duration
}

func plans(quick bool) plan {
	if quick {
		return plan{
			holdConns: 5000, holdSettle: 3 * time.Second,
			loadConns: 2000, rates: []float64{2000, 4000, 8000},
			warm: time.Second, window: 2 * time.Second, halfWindow: 3 * time.Second,
			lpRooms: 50, lpPerRoom: 2, lpWindow: 3 * time.Second,
			navRuns: 3, halfOpenRuns: 1, slowRuns: 1, diskWindow: 3 * time.Second,
			abuseUsers: 1000, abuseRate: 500, abuseRooms: 10, abuseWindow: 10 * time.Second, abuseSettle: 5 * time.Second,
			stormClients: 2000, stormBehind: 20, stormWait: time.Minute,
		}
	}
	return plan{
		// One server process may hold no more sockets than its open-file
		// limit; holdConns is cut to fit it (see main).
		holdConns: 50000, holdSettle: 30 * time.Second,
		loadConns: 2000, rates: []float64{1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 14000, 16000},
		warm: 2 * time.Second, window: 5 * time.Second, halfWindow: 15 * time.Second,
		lpRooms: 100, lpPerRoom: 2, lpWindow: 15 * time.Second,
		navRuns: 5, halfOpenRuns: 3, slowRuns: 3, diskWindow: 30 * time.Second,
		abuseUsers: 1000, abuseRate: 500, abuseRooms: 20, abuseWindow: 30 * time.Second, abuseSettle: 15 * time.Second,
		// The issue's storm: 19,800 clients, the most one process holds
		// here (see main), 20 messages behind.
		stormClients: 19800, stormBehind: 20, stormWait: 2 * time.Minute,
	}
}

func main() {
	var c config
	var phases, targets string
	flag.BoolVar(&c.quick, "quick", false, "a short run with smaller counts and shorter windows")
	flag.StringVar(&c.out, "out", "", "where to write the figures as JSON (default: bench/results.json, or bench/quick.json for a quick run: the committed figures are a full run's)")
	flag.StringVar(&c.markdown, "md", "", "where to write the Markdown table (default: beside -out: RESULTS.md for results.json, else NAME.md)")
	flag.StringVar(&c.tether, "tether", "bin/tether", "the tether server binary")
	flag.StringVar(&c.peer, "peer", "bin/bench-peer", "the centrifuge peer binary")
	flag.StringVar(&c.hello, "hello", "bin/bench-hello", "the go-app hello world's server binary")
	flag.StringVar(&c.web, "web", "web", "tether's web folder (app.wasm and its compressed copies)")
	flag.StringVar(&c.helloWeb, "hello-web", "bin/bench-hello-web", "the hello world's web folder")
	flag.StringVar(&c.playwright, "playwright", "playwright", "the Playwright folder")
	flag.StringVar(&phases, "phases", "disk,hold,cluster,load,longpoll,abuse,storm,client,heartbeat", "the phases to run (cluster runs only when one process may not open all the connections asked)")
	flag.StringVar(&targets, "targets", "", "the servers to measure in the hold and load phases: tether, peer, peer-redis (the peer with its history in Redis, load phase only); empty: all three")
	flag.BoolVar(&c.render, "render", false, "only rewrite the Markdown of the -out JSON")
	flag.IntVar(&c.holdConns, "hold-conns", 0, "connections to hold (0: the plan's, 50,000 or 5,000 quick)")
	flag.IntVar(&c.stormClients, "storm-clients", 0, "clients of the storm phase (0: the plan's, 19,800 or 2,000 quick)")
	flag.DurationVar(&c.holdSettle, "hold-settle", 0, "how long to hold them before measuring (0: the plan's)")
	flag.StringVar(&c.serverCPU, "server-cpu", "1", "the CPU the servers are pinned to (empty: none)")
	flag.StringVar(&c.clientCPU, "client-cpu", "0", "the CPU the load generator is pinned to (empty: none)")
	flag.StringVar(&c.rates, "rates", "", "the load steps, publishes a second, comma separated (empty: the plan's)")
	var worker workerFlags
	flag.BoolVar(&worker.on, "hold-worker", false, "internal: hold connections for the cluster phase")
	flag.StringVar(&worker.url, "worker-url", "", "internal: the node a worker connects to")
	flag.IntVar(&worker.conns, "worker-conns", 0, "internal: how many connections a worker opens")
	flag.StringVar(&worker.prefix, "worker-prefix", "", "internal: the worker's room and user prefix")
	flag.BoolVar(&worker.abuse, "abuse-worker", false, "internal: run the abuse phase's abuser")
	flag.StringVar(&worker.abuseRooms, "abuse-rooms", "", "internal: the abuser's rooms and their heads, room=head,…")
	flag.StringVar(&worker.abuseHistory, "abuse-history-rooms", "", "internal: the rooms of the abuser's history reads, room=head,…")
	flag.StringVar(&worker.stormData, "storm-writer", "", "internal: write the storm's messages into this data folder")
	flag.IntVar(&worker.stormRooms, "storm-rooms", 0, "internal: the rooms the storm's writer writes to")
	flag.IntVar(&worker.stormBehind, "storm-behind", 0, "internal: the messages it writes to each")
	flag.Parse()
	if worker.stormData != "" {
		if err := writeBehind(worker.stormData, worker.stormRooms, worker.stormBehind); err != nil {
			log.Fatal("bench storm writer: ", err)
		}
		return
	}
	if worker.abuse {
		if err := runAbuseWorker(worker.url, worker.abuseRooms, worker.abuseHistory); err != nil {
			log.Fatal("bench abuser: ", err)
		}
		return
	}
	if worker.on {
		if err := runHoldWorker(worker.url, worker.conns, worker.prefix); err != nil {
			log.Fatal("bench worker: ", err)
		}
		return
	}
	if targets == "" {
		// The quick run measures the peer with Redis too: two of the
		// issue's keys compare tether with it.
		targets = "tether,peer,peer-redis"
	}
	c.phases, c.targets = set(phases), set(targets)
	if c.out == "" {
		c.out = "bench/results.json"
		if c.quick {
			c.out = "bench/quick.json"
		}
	}
	if c.markdown == "" {
		c.markdown = markdownPath(c.out)
	}
	log.SetFlags(log.Ltime)
	if c.render {
		if err := render(c.out, c.markdown); err != nil {
			log.Fatal("bench: ", err)
		}
		return
	}
	if err := run(c); err != nil {
		log.Fatal("bench: ", err)
	}
}

// markdownPath puts the table beside the JSON: RESULTS.md for the
// committed results.json, else the JSON's name with .md.
func markdownPath(out string) string {
	if filepath.Base(out) == "results.json" {
		return filepath.Join(filepath.Dir(out), "RESULTS.md")
	}
	return strings.TrimSuffix(out, filepath.Ext(out)) + ".md"
}

func set(list string) map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		m[strings.TrimSpace(p)] = true
	}
	return m
}

func run(c config) error {
	pl := plans(c.quick)
	if c.holdConns > 0 {
		pl.holdConns = c.holdConns
	}
	if c.holdSettle > 0 {
		pl.holdSettle = c.holdSettle
	}
	if c.stormClients > 0 {
		pl.stormClients = c.stormClients
	}
	if c.rates != "" {
		pl.rates = nil
		for _, r := range strings.Split(c.rates, ",") {
			rate, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
			if err != nil || rate <= 0 {
				return fmt.Errorf("%q in -rates is not a rate", r)
			}
			pl.rates = append(pl.rates, rate)
		}
	}
	m := describeMachine()
	res := newResults(c.quick, m)

	nofile := raiseNoFile()
	res.Limits.OpenFilesPerProcess = int64(nofile)
	asked := pl.holdConns
	// The server needs a descriptor per socket plus a few of its own; the
	// harness as many again (one process each here).
	if limit := int(nofile) - 200; pl.holdConns > limit {
		log.Printf("the open-file limit is %d a process (hard limit, and raising it needs CAP_SYS_RESOURCE): holding %d connections instead of %d", nofile, limit, pl.holdConns)
		res.Notes = append(res.Notes, fmt.Sprintf("connections held are capped by this machine's open-file limit of %d per process (hard limit; no CAP_SYS_RESOURCE to raise it): %d asked, %d tried", nofile, pl.holdConns, limit))
		pl.holdConns = limit
	}
	// The storm's clients are all in the harness's process, and their
	// sockets all in the server's.
	if limit := int(nofile) - 200; pl.stormClients > limit {
		log.Printf("the open-file limit is %d a process: the storm has %d clients instead of %d", nofile, limit, pl.stormClients)
		pl.stormClients = limit
	}
	pinned := c.clientCPU != "" && pinSelf(c.clientCPU)
	if pinned {
		runtime.GOMAXPROCS(1)
	}
	res.Pinned = pinned && c.serverCPU != ""

	secret := make([]byte, 32)
	rand.Read(secret)
	secretHex := hex.EncodeToString(secret)
	a, err := auth.New([]byte(secretHex), auth.Options{})
	if err != nil {
		return err
	}
	token := func(user, room string) (string, error) {
		return a.Issue(wire.User{ID: user, Name: user, Role: wire.RoleCustomer}, []string{room}, 24*time.Hour)
	}
	tokenRooms := func(user string, rooms []string) (string, error) {
		return a.Issue(wire.User{ID: user, Name: user, Role: wire.RoleCustomer}, rooms, 24*time.Hour)
	}
	env := []string{auth.EnvSecret + "=" + secretHex}
	tmp, err := os.MkdirTemp("", "tether-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	runs := 0
	tetherTarget := target{proto: tetherProtocol{}, token: token, tokenRooms: tokenRooms, start: func() (*serverProcess, error) {
		runs++
		data := filepath.Join(tmp, fmt.Sprintf("tether-%d", runs))
		return startServer("tether", c.serverCPU, env, c.tether, "-addr", "127.0.0.1:0", "-data", data, "-metrics-addr", "127.0.0.1:0")
	}}
	if shm, err := os.MkdirTemp("/dev/shm", "tether-bench-"); err == nil {
		defer os.RemoveAll(shm)
		tetherTarget.startTmpfs = func() (*serverProcess, error) {
			runs++
			data := filepath.Join(shm, fmt.Sprintf("tether-%d", runs))
			return startServer("tether", c.serverCPU, env, c.tether, "-addr", "127.0.0.1:0", "-data", data, "-metrics-addr", "127.0.0.1:0")
		}
	} else {
		res.Notes = append(res.Notes, "no tmpfs at /dev/shm: the half load was not measured with the data in memory")
	}
	peerTarget := target{proto: centrifugeProtocol{}, token: token, start: func() (*serverProcess, error) {
		return startServer("peer", c.serverCPU, env, c.peer, "-addr", "127.0.0.1:0")
	}}
	redisRuns := 0
	durablePeerTarget := target{proto: durablePeerProtocol{}, token: token, start: func() (*serverProcess, error) {
		redisRuns++
		redis, addr, err := startRedis(c.serverCPU, filepath.Join(tmp, fmt.Sprintf("redis-%d", redisRuns)))
		if err != nil {
			return nil, err
		}
		srv, err := startServer("peer-redis", c.serverCPU, env, c.peer, "-addr", "127.0.0.1:0", "-redis", addr)
		if err != nil {
			redis.stop(5 * time.Second)
			return nil, err
		}
		srv.with = append(srv.with, redis)
		return srv, nil
	}}

	if c.phases["disk"] {
		// First, on a quiet machine: what the disk under the data folders
		// does with nothing of tether's running.
		d, err := runDisk(tmp, pl.diskWindow)
		if err != nil {
			return fmt.Errorf("failed to measure the disk: %w", err)
		}
		log.Printf("disk: %d fdatasyncs of 16 KiB in %.0f s: p50 %.2f ms, p99 %.2f ms, max %.0f ms; %d over 10 ms, %.1f %% of the time",
			d.Syncs, d.Seconds, d.P50MS, d.P99MS, d.MaxMS, d.Stalls, d.StalledShare*100)
		res.Limits.Disk = &d
	}
	if c.phases["hold"] {
		for _, t := range []struct {
			target
			out **holdResult
		}{{tetherTarget, &res.Detail.Tether.Hold}, {peerTarget, &res.Detail.Peer.Hold}} {
			if !c.targets[t.proto.Name()] {
				continue
			}
			h, err := runHold(t.target, pl.holdConns, pl.holdSettle)
			if err != nil {
				return fmt.Errorf("failed to run the %s hold phase: %w", t.proto.Name(), err)
			}
			log.Printf("%s: held %d of %d connections, %.1f KiB each (RSS %0.f → %.0f KiB)", t.proto.Name(), h.Held, h.Requested, h.KiBPerConnection, h.BaselineRSSKiB, h.RSSKiB)
			*t.out = &h
		}
	}
	if c.phases["cluster"] && c.targets["tether"] && asked > pl.holdConns {
		nodes := (asked + pl.holdConns - 1) / pl.holdConns
		cl, err := runClusterHold(c, env, tmp, nodes, asked, pl.holdSettle)
		if err != nil {
			return fmt.Errorf("failed to run the cluster hold phase: %w", err)
		}
		log.Printf("cluster: held %d of %d connections on %d nodes, %.1f KiB each", cl.Held, cl.Requested, cl.Nodes, cl.KiBPerConnection)
		res.Detail.Tether.Cluster = &cl
	}
	if c.phases["load"] {
		for _, t := range []struct {
			target
			out **throughputResult
		}{{tetherTarget, &res.Detail.Tether.Throughput}, {peerTarget, &res.Detail.Peer.Throughput},
			{durablePeerTarget, &res.Detail.DurablePeer.Throughput}} {
			if !c.targets[t.proto.Name()] {
				continue
			}
			r, err := runThroughput(t.target, pl.loadConns, pl.rates, pl.warm, pl.window, pl.halfWindow)
			if err != nil {
				return fmt.Errorf("failed to run the %s load phase: %w", t.proto.Name(), err)
			}
			*t.out = &r
		}
	}
	if c.phases["longpoll"] {
		lp, err := runLongPoll(tetherTarget, pl.lpRooms, pl.lpPerRoom, pl.warm, pl.lpWindow)
		if err != nil {
			return fmt.Errorf("failed to run the long-poll phase: %w", err)
		}
		res.Detail.Tether.LongPoll = &lp
	}
	if c.phases["abuse"] {
		ab, err := runAbuse(tetherTarget, pl.abuseUsers, pl.abuseRooms, pl.abuseRate, pl.warm, pl.abuseWindow, pl.abuseSettle)
		if err != nil {
			return fmt.Errorf("failed to run the abuse phase: %w", err)
		}
		res.Detail.Tether.Abuse = &ab
	}
	if c.phases["storm"] {
		// One data folder for the server, its restart and the harness's
		// writes while it is down.
		data := filepath.Join(tmp, "storm")
		start := func(addr string) (*serverProcess, error) {
			return startServer("tether", c.serverCPU, env, c.tether, "-addr", addr, "-data", data, "-metrics-addr", "127.0.0.1:0")
		}
		write := func(rooms, behind int) error { return runStormWriter(c.serverCPU, data, rooms, behind) }
		st, err := runStorm(start, write, token, pl.stormClients, pl.stormBehind, pl.stormWait)
		if err != nil {
			return fmt.Errorf("failed to run the storm phase: %w", err)
		}
		res.Detail.Tether.Storm = &st
	}
	if c.phases["client"] {
		cl, err := runClient(c, pl)
		if err != nil {
			return fmt.Errorf("failed to measure the client: %w", err)
		}
		res.Detail.Client = cl
	}
	if c.phases["heartbeat"] {
		hb, err := runHeartbeat()
		if err != nil {
			return fmt.Errorf("failed to measure the heartbeat: %w", err)
		}
		log.Printf("heartbeat of an idle page: %.0f pings (%.0f bytes) an hour visible, %.0f (%.0f bytes) hidden: %.2f× the visible pace",
			hb.VisiblePingsPerHour, hb.VisibleBytesPerHour, hb.HiddenPingsPerHour, hb.HiddenBytesPerHour, hb.HiddenRatio)
		res.Detail.Heartbeat = &hb
	}
	res.summarize()
	return res.write(c.out, c.markdown)
}
