//go:build !wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/sqlite"
)

// The storm phase: a tether server under thousands of subscribed clients
// is SIGKILLed; while it is down every room falls behind by messages
// written into its database (as other nodes would write them into a shared
// store); it restarts on the same folder and port, and every client comes
// back the way tether's client does, on its jittered backoff, with a hello
// whose resume carries its last seq. The figure is how long after the
// restarted server accepts connections the last client has every message
// of its room, each once and in order.
const (
	// stormGoalS bounds the time from the restarted server accepting to
	// the last client caught up.
	stormGoalS = 20
	// stormBefore is each room's history before the kill: one message, so
	// every client has a seq to resume from.
	stormBefore = 1
	// stormOpenParallel is how many first connections open at once (the
	// hold phase's pace).
	stormOpenParallel = 32
	// stormSettle is how long the clients stay after the last caught up,
	// so a message delivered twice late is still seen.
	stormSettle = 2 * time.Second
	// stormWriteBatch is the most appends one commit of the harness's
	// writes holds: the writes fill the server's downtime, so they go in
	// few commits.
	stormWriteBatch = 4096
)

// stormResult is the storm phase.
type stormResult struct {
	Requested int `json:"requested"`
	// Clients opened, subscribed and received the room's history before
	// the kill, in Rooms rooms of two.
	Clients int `json:"clients"`
	Rooms   int `json:"rooms"`
	// Behind is how many messages each room got while the server was down.
	Behind      int     `json:"messages_behind"`
	OpenSeconds float64 `json:"open_seconds"`
	// WriteSeconds is how long the harness took to write those messages
	// (the store opened, every append committed, the store closed);
	// DownSeconds is from the SIGKILL to the restarted server accepting
	// connections, RestartSeconds from the restart command to that.
	WriteSeconds   float64 `json:"write_seconds"`
	DownSeconds    float64 `json:"down_seconds"`
	RestartSeconds float64 `json:"restart_seconds"`
	// CaughtUpSeconds is the figure: from the restarted server accepting
	// connections (its "serving" line) to the last client holding every
	// message of its room; null when some never did within WaitSeconds.
	CaughtUpSeconds *float64 `json:"caught_up_seconds"`
	// FromRestartCommandS is the same end measured from the restart
	// command instead.
	FromRestartCommandS *float64 `json:"caught_up_from_restart_command_seconds"`
	WaitSeconds         float64  `json:"wait_seconds"`
	CaughtUp            int      `json:"caught_up"`
	// The clients' catch-up times, from the server accepting, and when the
	// last one was welcomed back with its room resumed.
	P50CaughtUpS      float64 `json:"p50_caught_up_s"`
	P99CaughtUpS      float64 `json:"p99_caught_up_s"`
	AllResumedSeconds float64 `json:"last_resumed_s"`
	Resumed           int     `json:"resumed"`
	AllResumed        bool    `json:"all_resumed"`
	NotRecovered      int64   `json:"subscribed_not_recovered"`
	Lost              int64   `json:"lost"`
	Doubled           int64   `json:"doubled"`
	OutOfOrder        int64   `json:"out_of_order"`
	Foreign           int64   `json:"foreign"`
	Valid             bool    `json:"valid"`
	// Where the time went, from the server accepting: when the attempt
	// that succeeded began (the backoff's share), how long it took to its
	// welcome (the accept queue, the upgrade, the token), and from the
	// welcome to the last message (the replay): p50, p99 and max of the
	// clients, in seconds.
	AttemptBeganS      [3]float64 `json:"successful_attempt_began_s"`
	AttemptToWelcomeS  [3]float64 `json:"attempt_to_welcome_s"`
	WelcomeToCaughtUpS [3]float64 `json:"welcome_to_caught_up_s"`
	// FailuresAfterRestart are the attempts that failed after the restart
	// command, by cause.
	FailuresAfterRestart map[string]int64 `json:"failures_after_restart,omitempty"`
	// MaxServerFDs is the most descriptors the restarted server held
	// (sampled every 250 ms): its open-file limit bounds its sockets.
	MaxServerFDs      int              `json:"max_server_fds"`
	ReconnectAttempts int64            `json:"reconnect_attempts"`
	FailedAttempts    int64            `json:"failed_attempts"`
	MaxAttempts       int              `json:"max_attempts_of_a_client"`
	ClosesByCode      map[string]int64 `json:"closes_by_code,omitempty"`
	DropsBeforeKill   int64            `json:"drops_before_kill"`
	Errors            int64            `json:"errors"`
	LastError         string           `json:"last_error,omitempty"`
	ServerCPUSeconds  float64          `json:"server_cpu_s"`
	HarnessCPUSeconds float64          `json:"harness_cpu_s"`
}

// stormClient is one client of the storm. Its goroutine (storm.run) owns
// every field but the first four, and the phase reads them once it ended.
type stormClient struct {
	idx   int
	room  int // the room's index: "s<room>"
	token string
	http  *http.Client

	log        roomLog
	primed     bool  // holds the room's history before the kill
	attempts   int   // reconnect attempts in all
	dialedAt   int64 // stamp of the start of the attempt that succeeded after the restart
	welcomedAt int64 // and of its welcome
	resumedAt  int64 // stamp of the first subscribed after the restart
	caughtUpAt int64 // stamp of the last message it lacked after it
}

// storm is the phase's shared state: counters the clients add to and the
// main goroutine watches.
type storm struct {
	url     string
	clients []*stormClient
	// heads are the rooms' heads after the writes; set before the restart,
	// so a client that loads them has reconnected to the new server.
	heads atomic.Pointer[[]int64]
	// killed is set just before the SIGKILL: a drop before it is an error.
	killed atomic.Bool
	open   chan struct{} // a slot of the first connections' parallelism

	opened, openFailed, primed, resumed, caughtUp atomic.Int64
	notRecovered, foreign, failedAttempts         atomic.Int64
	dropsBeforeKill, errors                       atomic.Int64
	lastError                                     atomic.Pointer[string]
	countsMu                                      sync.Mutex
	closes, failures                              map[string]int64
}

// roomName is the name of the room of index room.
func roomName(room int) string { return "s" + strconv.Itoa(room) }

// fail counts an error and keeps it as the last.
func (s *storm) fail(err string) {
	s.errors.Add(1)
	s.lastError.Store(&err)
}

// runStorm runs the phase with n clients (rooms of two) against the tether
// that start starts on addr, each room behind by the behind messages write
// writes into its data folder while it is down, waiting at most wait for
// them all to catch up.
func runStorm(start func(addr string) (*serverProcess, error), write func(rooms, behind int) error, token func(user, room string) (string, error),
	n, behind int, wait time.Duration) (stormResult, error) {
	n -= n % 2
	res := stormResult{Requested: n, Rooms: n / 2, Behind: behind, WaitSeconds: wait.Seconds()}
	srv, err := start("127.0.0.1:0")
	if err != nil {
		return res, err
	}
	// srv is the restarted server at the end.
	defer func() { srv.stop(30 * time.Second) }()
	addr := strings.TrimPrefix(srv.URL, "http://")
	s := &storm{url: srv.URL, open: make(chan struct{}, stormOpenParallel)}
	sources := sourceClients()
	for i := range n {
		c := &stormClient{idx: i, room: i / 2, http: sources[i%len(sources)]}
		if c.token, err = token("u"+strconv.Itoa(i), roomName(c.room)); err != nil {
			return res, err
		}
		s.clients = append(s.clients, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		for _, cl := range sources {
			cl.CloseIdleConnections()
		}
	}()
	begin := time.Now()
	for _, c := range s.clients {
		wg.Go(func() { s.run(ctx, c) })
	}
	if !waitFor(func() bool { return s.opened.Load()+s.openFailed.Load() >= int64(n) }, 5*time.Minute) || s.openFailed.Load() > 0 {
		return res, fmt.Errorf("failed to open %d of %d storm clients: %v", s.openFailed.Load(), n, ptrString(s.lastError.Load()))
	}
	res.OpenSeconds = round1(time.Since(begin).Seconds())
	if !waitFor(func() bool { return s.primed.Load() >= int64(n) }, time.Minute) {
		return res, fmt.Errorf("only %d of %d storm clients received their room's first message: %v", s.primed.Load(), n, ptrString(s.lastError.Load()))
	}
	res.Clients = n
	log.Printf("storm: %d clients in %d rooms open and subscribed in %.1f s, each with its room's first message; SIGKILL", n, res.Rooms, res.OpenSeconds)

	s.killed.Store(true)
	killedAt := time.Now()
	srv.kill()
	if err := write(res.Rooms, behind); err != nil {
		return res, err
	}
	res.WriteSeconds = round2(time.Since(killedAt).Seconds())
	heads := make([]int64, res.Rooms)
	for i := range heads {
		heads[i] = stormBefore + int64(behind) // writeBehind checked each
	}
	s.heads.Store(&heads)
	restartAt := time.Now()
	restarted, err := start(addr)
	if err != nil {
		return res, fmt.Errorf("failed to restart tether on %s: %w", addr, err)
	}
	srv = restarted
	accepting := stamp()
	acceptingAt := time.Now()
	res.DownSeconds = round2(acceptingAt.Sub(killedAt).Seconds())
	res.RestartSeconds = round2(acceptingAt.Sub(restartAt).Seconds())
	_, client0 := cpuNow(srv)
	log.Printf("storm: %d messages written into each room in %.1f s; the restarted server accepts %.1f s after the kill", behind, res.WriteSeconds, res.DownSeconds)
	waitFor(func() bool {
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", srv.Pid())); err == nil {
			res.MaxServerFDs = max(res.MaxServerFDs, len(fds))
		}
		return s.caughtUp.Load() >= int64(n) || !srv.alive()
	}, wait)
	server1, client1 := cpuNow(srv)
	res.ServerCPUSeconds = round2(server1.Seconds())
	res.HarnessCPUSeconds = round2((client1 - client0).Seconds())
	time.Sleep(stormSettle)
	alive := srv.alive()
	cancel()
	wg.Wait()

	res.summarize(s, heads, accepting, acceptingAt.Sub(restartAt))
	last := "not all of them within the wait"
	if res.CaughtUpSeconds != nil {
		last = fmt.Sprintf("the last %.2f s after the server accepted", *res.CaughtUpSeconds)
	}
	log.Printf("storm: %d of %d clients caught up, %s (p50 %.2f s, p99 %.2f s), the last resumed at %.2f s; lost %d, doubled %d, out of order %d, foreign %d; %d reconnect attempts (%d failed, at most %d a client)",
		res.CaughtUp, n, last, res.P50CaughtUpS, res.P99CaughtUpS, res.AllResumedSeconds,
		res.Lost, res.Doubled, res.OutOfOrder, res.Foreign, res.ReconnectAttempts, res.FailedAttempts, res.MaxAttempts)
	if !alive {
		return res, fmt.Errorf("the restarted tether died in the storm:\n%s", srv.Output())
	}
	if !res.Valid {
		log.Printf("storm: the attempts that failed after the restart: %s; the restarted server said:\n%s", formatCounts(res.FailuresAfterRestart), srv.Output())
	}
	return res, nil
}

// summarize fills the figures from the clients, once their goroutines have
// ended. accepting is the stamp at which the restarted server accepted;
// restart, how long it took from the restart command to that.
func (r *stormResult) summarize(s *storm, heads []int64, accepting int64, restart time.Duration) {
	var caught, resumed, began, toWelcome, toCaughtUp []float64
	secs := func(from, to int64) float64 { return time.Duration(to - from).Seconds() }
	for _, c := range s.clients {
		if c.dialedAt != 0 {
			began = append(began, secs(accepting, c.dialedAt))
			toWelcome = append(toWelcome, secs(c.dialedAt, c.welcomedAt))
			if c.caughtUpAt != 0 {
				toCaughtUp = append(toCaughtUp, secs(c.welcomedAt, c.caughtUpAt))
			}
		}
		r.Lost += int64(c.log.missing(heads[c.room]))
		r.Doubled += int64(c.log.doubled)
		r.OutOfOrder += int64(c.log.outOfOrder + c.log.invalid)
		r.ReconnectAttempts += int64(c.attempts)
		r.MaxAttempts = max(r.MaxAttempts, c.attempts)
		if c.resumedAt != 0 {
			resumed = append(resumed, time.Duration(c.resumedAt-accepting).Seconds())
		}
		if c.caughtUpAt != 0 {
			caught = append(caught, time.Duration(c.caughtUpAt-accepting).Seconds())
		}
	}
	r.CaughtUp, r.Resumed = len(caught), len(resumed)
	r.AllResumed = r.Resumed == r.Clients
	r.NotRecovered, r.Foreign, r.FailedAttempts = s.notRecovered.Load(), s.foreign.Load(), s.failedAttempts.Load()
	r.DropsBeforeKill, r.Errors = s.dropsBeforeKill.Load(), s.errors.Load()
	r.AttemptBeganS, r.AttemptToWelcomeS, r.WelcomeToCaughtUpS = percentiles(began), percentiles(toWelcome), percentiles(toCaughtUp)
	if last := s.lastError.Load(); last != nil {
		r.LastError = *last
	}
	s.countsMu.Lock()
	r.ClosesByCode, r.FailuresAfterRestart = s.closes, s.failures
	s.countsMu.Unlock()
	slices.Sort(caught)
	if len(resumed) > 0 {
		r.AllResumedSeconds = round2(slices.Max(resumed))
	}
	if len(caught) > 0 {
		r.P50CaughtUpS = round2(quantile(caught, 0.50))
		r.P99CaughtUpS = round2(quantile(caught, 0.99))
	}
	r.Valid = r.Clients > 0 && r.CaughtUp == r.Clients && r.AllResumed && r.Lost == 0 && r.Doubled == 0 &&
		r.OutOfOrder == 0 && r.Foreign == 0 && r.NotRecovered == 0
	if r.CaughtUp == r.Clients && r.Clients > 0 {
		last := caught[len(caught)-1]
		r.CaughtUpSeconds = ptr(round2(last))
		r.FromRestartCommandS = ptr(round2(last + restart.Seconds()))
	}
}

// percentiles is the p50, p99 and max of xs, rounded; zeros when it is empty.
func percentiles(xs []float64) [3]float64 {
	if len(xs) == 0 {
		return [3]float64{}
	}
	slices.Sort(xs)
	return [3]float64{round2(quantile(xs, 0.5)), round2(quantile(xs, 0.99)), round2(xs[len(xs)-1])}
}

// quantile of sorted xs, the nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ptrString prints what p points to, or none.
func ptrString[T any](p *T) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

// waitFor polls done until it holds or timeout passes; it reports whether
// it held.
func waitFor(done func() bool, timeout time.Duration) bool {
	end := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// runStormWriter runs writeBehind in a process of its own pinned to cpus
// (the server's, idle while it is down): in the harness it would share the
// load generator's one P with every client retrying, and take several
// times as long, the clients' backoff growing all the while.
func runStormWriter(cpus, dataDir string, rooms, behind int) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("failed to find the harness's binary: %w", err)
	}
	argv := []string{self, "-storm-writer", dataDir, "-storm-rooms", strconv.Itoa(rooms), "-storm-behind", strconv.Itoa(behind)}
	if cpus != "" {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{taskset, "-c", cpus}, argv...)
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// Two Ps, as the server takes: SQLite's fsyncs block the one they hold.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("the storm's writer failed: %w\n%s", err, out)
	}
	return nil
}

// writeBehind appends behind messages to each of rooms rooms in the
// database of dataDir while its server is down, through tether's own
// store. Each room's messages go in order from one goroutine and must take
// the seqs after its history (stormBefore), each with the client_id
// stormClientID(k) of a sender who is not on any socket of the storm.
func writeBehind(dataDir string, rooms, behind int) error {
	st, err := sqlite.Open(filepath.Join(dataDir, "tether.db"), sqlite.Options{MaxBatch: stormWriteBatch})
	if err != nil {
		return err
	}
	sender := wire.User{ID: "elsewhere", Name: "Elsewhere", Role: wire.RoleTherapist}
	var errMu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for room := range rooms {
		wg.Go(func() {
			for k := 1; k <= behind; k++ {
				now := time.Now()
				m, created, err := st.Append(context.Background(), store.NewMessage{
					Room: roomName(room), ID: fmt.Sprintf("%016x%016x", now.UnixNano(), rand.Uint64()),
					ClientID: stormClientID(k), Sender: sender, Body: "written while the server was down " + strconv.Itoa(k), SentAt: now.UnixMilli(),
				})
				if err == nil && (!created || m.Seq != int64(stormBefore+k)) {
					err = fmt.Errorf("message %d of %s took seq %d (created %v), not %d", k, roomName(room), m.Seq, created, stormBefore+k)
				}
				if err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	err = errors.Join(st.Close(), errors.Join(errs...))
	if err != nil {
		return fmt.Errorf("failed to write the messages of the storm: %w", err)
	}
	return nil
}
