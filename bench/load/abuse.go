//go:build !wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tether/conn"
	"tether/conn/native"
	"tether/conn/wire"
)

// The abuse phase: one user who asks for everything at once (the abuser)
// beside normal users, on one tether server. The bounds are what
// the abuser may cost the server in memory and the others in latency.
const (
	// abuseRSSGoalMiB bounds what the abuser may grow the server's RSS by.
	abuseRSSGoalMiB = 64
	// abuseP99Goal bounds the normal users' p99 with the abuser over
	// their p99 without.
	abuseP99Goal = 1.5
	// abuseSeedPerRoom is the history of each of the abuser's rooms: a
	// subscribe with since=0 replays all of it (wire.ReplayLimit).
	abuseSeedPerRoom = 500
	// abuseSeedChars is the length of a message of the rooms the abuser
	// subscribes to: a long chat message, a quarter of wire.MaxBodyChars
	// (a replay of 500 is about 600 KB).
	abuseSeedChars = 1000
	// abuseHistoryRooms hold the pages the abuser asks for and never
	// reads: 500 messages of wire.MaxBodyChars characters of Chinese,
	// three bytes each in UTF-8, a page of about 6 MB. A smaller page
	// fits whole in the kernel's send buffer on loopback (autotuned up to
	// tcp_wmem's 4 MiB; a page of 600 KB went there whole and its handler
	// returned): this one keeps its handler waiting for the reader, with
	// the page in its memory.
	abuseHistoryRooms = 2
	// abuseSeedPerUser messages per seeding user stay within the server's
	// burst of sends a user (30).
	abuseSeedPerUser = 25
)

// abuseWindow is what the normal users measured in one window.
type abuseWindow struct {
	Seconds       float64 `json:"seconds"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	P50MS         float64 `json:"p50_ms"`
	P95MS         float64 `json:"p95_ms"`
	P99MS         float64 `json:"p99_ms"`
	MaxMS         float64 `json:"max_ms"`
	Errors        int64   `json:"errors"`
	Closed        int64   `json:"connections_closed"`
	ServerCores   float64 `json:"server_cores"`
	ClientCores   float64 `json:"client_cores"`
}

// abuseResult is the abuse phase.
type abuseResult struct {
	Users         int     `json:"users"`
	PublishesPerS float64 `json:"publishes_per_s"`
	AbuserRooms   int     `json:"abuser_rooms"`
	SeededPerRoom int     `json:"seeded_per_room"`
	SeedChars     int     `json:"seeded_body_chars"`
	// HistoryRooms hold the pages of the history reads, HistoryPageBytes
	// long each.
	HistoryRooms     int     `json:"history_rooms"`
	HistoryPageBytes int64   `json:"history_page_bytes"`
	SeedSeconds      float64 `json:"seed_seconds"`
	SettleSeconds    float64 `json:"settle_seconds"`
	// Baseline is the normal users alone, Abused the same users with the
	// abuser beside them, right after, on the same server.
	Baseline abuseWindow `json:"baseline"`
	Abused   abuseWindow `json:"with_abuser"`
	// AbuserCores is the CPU the abuser's process used in its window, on
	// the load generator's core.
	AbuserCores float64 `json:"abuser_cores"`
	// RSS: before the abuser started, its peak while the abuse ran and
	// for the settle period after, and 2 s after the abuser left.
	RSSBeforeMiB float64 `json:"rss_before_mib"`
	RSSPeakMiB   float64 `json:"rss_peak_mib"`
	RSSAfterMiB  float64 `json:"rss_after_abuser_left_mib"`
	RSSGrowthMiB float64 `json:"rss_growth_mib"`
	// RSSSamplesMiB is the RSS every second from the abuser's start.
	RSSSamplesMiB []float64    `json:"rss_samples_mib"`
	P99Ratio      *float64     `json:"p99_ratio"`
	Abuser        abuserCounts `json:"abuser"`
}

// abuseRooms names n of the abuser's rooms.
func abuseRooms(prefix string, n int) []string {
	rooms := make([]string, n)
	for i := range rooms {
		rooms[i] = prefix + strconv.Itoa(i)
	}
	return rooms
}

// seedBody is a message body of n characters: repeats of text, cut.
func seedBody(text string, n int) string {
	r := []rune(strings.Repeat(text, n/len([]rune(text))+1))
	return string(r[:n])
}

// p99Ratio is the p99 with the abuser over the p99 without; nil when the
// baseline measured nothing.
func p99Ratio(baseline, abused float64) *float64 {
	if baseline <= 0 {
		return nil
	}
	return ptr(round2(abused / baseline))
}

// mib turns bytes into MiB with one decimal.
func mib(b int64) float64 { return round1(float64(b) / (1 << 20)) }

// runAbuse starts one server with users normal users in rooms of two,
// seeds the abuser's rooms, measures the users publishing at rate alone
// for window, then the same with the abuser beside them for window, and
// the server's RSS from the abuser's start until settle after its window.
//
// Both windows run on the same server, one after the other, with the same
// connections and the same database (the rooms are seeded before the
// baseline): the abuser arrives beside users already there, as it would,
// and the RSS it costs is measured against the very process it hit. A
// fresh server for the second window would differ in what is cached and
// warm, which is no part of the abuse.
func runAbuse(t target, users, rooms int, rate float64, warm, window, settle time.Duration) (abuseResult, error) {
	res := abuseResult{Users: users, PublishesPerS: rate, AbuserRooms: rooms, SeededPerRoom: abuseSeedPerRoom,
		SeedChars: abuseSeedChars, HistoryRooms: abuseHistoryRooms, SettleSeconds: settle.Seconds()}
	if t.tokenRooms == nil {
		return res, errors.New("the abuse phase needs tokens for several rooms")
	}
	srv, p, err := startWithPool(t, users, 32, pairs("n"))
	if err != nil {
		return res, err
	}
	defer srv.stop(30 * time.Second)
	defer p.close()

	names, history := abuseRooms("ab", rooms), abuseRooms("abh", abuseHistoryRooms)
	start := time.Now()
	heads, err := seedRooms(srv.URL, t, names, abuseSeedPerRoom, seedBody(padding+" ", abuseSeedChars))
	if err != nil {
		return res, fmt.Errorf("failed to seed the abuser's rooms: %w", err)
	}
	hheads, err := seedRooms(srv.URL, t, history, abuseSeedPerRoom, seedBody("这是一条很长的聊天消息，", wire.MaxBodyChars))
	if err != nil {
		return res, fmt.Errorf("failed to seed the rooms of the history reads: %w", err)
	}
	maps.Copy(heads, hheads)
	res.SeedSeconds = round1(time.Since(start).Seconds())
	token, err := t.tokenRooms("abuser", append(slices.Clone(names), history...))
	if err != nil {
		return res, err
	}
	if res.HistoryPageBytes, err = pageBytes(srv.URL, token, history[0], heads[history[0]]+1); err != nil {
		return res, err
	}
	log.Printf("tether: abuse: %d connections open, %d + %d rooms of %d messages seeded in %.1f s (history pages of %.1f MiB)",
		users, rooms, abuseHistoryRooms, abuseSeedPerRoom, res.SeedSeconds, float64(res.HistoryPageBytes)/(1<<20))

	stopPublishing := runStepAsync(p, rate)
	defer stopPublishing()
	time.Sleep(warm)
	res.Baseline = measureWindow(p, srv, window)
	log.Printf("tether: abuse: baseline, %d users at %.0f/s: p50 %.2f ms, p99 %.2f ms, errors %d",
		users, rate, res.Baseline.P50MS, res.Baseline.P99MS, res.Baseline.Errors)

	before, err := readMemory(srv.Pid())
	if err != nil {
		return res, err
	}
	peak, samples, stopSampling := sampleRSS(srv.Pid())
	defer stopSampling()
	a, err := startAbuseWorker(srv.URL, token, names, history, heads)
	if err != nil {
		return res, err
	}
	cpu0, _ := readCPU(a.cmd.Process.Pid)
	res.Abused = measureWindow(p, srv, window)
	if cpu1, err := readCPU(a.cmd.Process.Pid); err == nil && res.Abused.Seconds > 0 {
		res.AbuserCores = round2((cpu1 - cpu0).Seconds() / res.Abused.Seconds)
	}
	a.stop()
	time.Sleep(settle)
	stopSampling()
	if res.Abuser, err = a.close(); err != nil {
		return res, err
	}
	stopPublishing()
	time.Sleep(2 * time.Second)
	if after, err := readMemory(srv.Pid()); err == nil {
		res.RSSAfterMiB = mib(after.RSS)
	}
	res.RSSBeforeMiB = mib(before.RSS)
	res.RSSPeakMiB = mib(max(peak.Load(), before.RSS))
	res.RSSGrowthMiB = round1(res.RSSPeakMiB - res.RSSBeforeMiB)
	for _, s := range samples() {
		res.RSSSamplesMiB = append(res.RSSSamplesMiB, mib(s))
	}
	res.P99Ratio = p99Ratio(res.Baseline.P99MS, res.Abused.P99MS)
	ab := res.Abuser
	log.Printf("tether: abuse: with the abuser: p50 %.2f ms, p99 %.2f ms (%s× the baseline), errors %d, closed %d; RSS %.1f → peak %.1f MiB (+%.1f), %.1f once it left",
		res.Abused.P50MS, res.Abused.P99MS, cell(res.P99Ratio, "%.2f"), res.Abused.Errors, res.Abused.Closed,
		res.RSSBeforeMiB, res.RSSPeakMiB, res.RSSGrowthMiB, res.RSSAfterMiB)
	log.Printf("tether: abuse: the abuser sent %d subscribes on %d sockets (%d dialled; refused %v; closed %v): %d rate_limited, other errors %v, %d messages replayed, %.1f MiB",
		ab.SubscribesSent, ab.SocketsOpened, ab.SocketsDialed, ab.UpgradesRefused, ab.SocketCloses, ab.RateLimited, ab.OtherErrors, ab.ReplayedMessages, mib(ab.BytesWS))
	log.Printf("tether: abuse: %d long-polls %v (%.1f MiB); %d history reads never read, then: %v (%.1f MiB)",
		ab.LongPollsSent, ab.LongPollAnswers, mib(ab.BytesLongPoll), ab.HistoryReadsSent, ab.HistoryAnswers, mib(ab.BytesHistory))
	if !srv.alive() {
		return res, fmt.Errorf("tether died under the abuse:\n%s", srv.Output())
	}
	return res, nil
}

// measureWindow records what the pool's users measure (they publish
// meanwhile) for window.
func measureWindow(p *pool, srv *serverProcess, window time.Duration) abuseWindow {
	type snap struct {
		at                      time.Time
		delivered, errs, closed int64
		server, client          time.Duration
	}
	take := func() snap {
		s := snap{at: time.Now(), delivered: p.sink.delivered.Load(), errs: p.sink.errors.Load(), closed: p.sink.closed.Load()}
		s.server, s.client = cpuNow(srv)
		return s
	}
	a, b, hist := measure(p, window, take)
	p.sink.latency.Store(&histogram{})
	secs := b.at.Sub(a.at).Seconds()
	return abuseWindow{
		Seconds:       round1(secs),
		DeliveredPerS: float64(int64(float64(b.delivered-a.delivered) / secs)),
		P50MS:         ms(hist.Quantile(0.50)),
		P95MS:         ms(hist.Quantile(0.95)),
		P99MS:         ms(hist.Quantile(0.99)),
		MaxMS:         ms(hist.Max()),
		Errors:        b.errs - a.errs,
		Closed:        b.closed - a.closed,
		ServerCores:   round2((b.server - a.server).Seconds() / secs),
		ClientCores:   round2((b.client - a.client).Seconds() / secs),
	}
}

// sampleRSS reads pid's RSS every 100 ms until stop (which may be called
// again): peak is the largest so far, samples one a second.
func sampleRSS(pid int) (peak *atomic.Int64, samples func() []int64, stop func()) {
	peak = &atomic.Int64{}
	var mu sync.Mutex
	var every []int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			if m, err := readMemory(pid); err == nil {
				peak.Store(max(peak.Load(), m.RSS))
				if i%10 == 0 {
					mu.Lock()
					every = append(every, m.RSS)
					mu.Unlock()
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	samples = func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]int64(nil), every...)
	}
	var once sync.Once
	return peak, samples, func() { once.Do(func() { close(done); wg.Wait() }) }
}

// seedRooms posts perRoom messages of body to each room over HTTP, from
// as many users as the server's send burst asks, and returns each room's
// head.
func seedRooms(base string, t target, rooms []string, perRoom int, body string) (map[string]int64, error) {
	type job struct {
		room string
		user int
	}
	jobs := make(chan job)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for j := range jobs {
				if err := seedUser(ctx, client, base, t, j.room, j.user, perRoom, body); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					cancel()
				}
			}
		})
	}
	users := (perRoom + abuseSeedPerUser - 1) / abuseSeedPerUser
	for u := range users {
		for _, room := range rooms {
			select {
			case jobs <- job{room, u}:
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		return nil, *err
	}
	heads := map[string]int64{}
	token, err := t.tokenRooms("abuse-seed-reader", rooms)
	if err != nil {
		return nil, err
	}
	h := &native.HTTPClient{BaseURL: base, Token: token, Client: client}
	for _, room := range rooms {
		page, err := h.History(ctx, room, 0, 1)
		if err != nil {
			return nil, fmt.Errorf("failed to read the head of %s: %w", room, err)
		}
		heads[room] = page.Head
	}
	return heads, nil
}

// seedUser posts user's share (messages user·abuseSeedPerUser …) of room's
// perRoom messages.
func seedUser(ctx context.Context, client *http.Client, base string, t target, room string, user, perRoom int, body string) error {
	name := fmt.Sprintf("seed-%s-%d", room, user)
	token, err := t.token(name, room)
	if err != nil {
		return err
	}
	h := &native.HTTPClient{BaseURL: base, Token: token, Client: client}
	for i := user * abuseSeedPerUser; i < min(perRoom, (user+1)*abuseSeedPerUser); i++ {
		for {
			_, _, err := h.Post(ctx, room, name+"-"+strconv.Itoa(i), body)
			if status, he := conn.StatusOf(err); status == http.StatusTooManyRequests {
				sleepCtx(ctx, max(he.RetryAfter, 100*time.Millisecond))
				continue
			}
			if err != nil {
				return fmt.Errorf("failed to post to %s: %w", room, err)
			}
			break
		}
	}
	return nil
}

// markdown renders the phase's two windows and what the abuser got.
func (ab *abuseResult) markdown() string {
	var b strings.Builder
	w0, w1 := ab.Baseline, ab.Abused
	fmt.Fprintf(&b, "\n| abuse phase (tether): %s users at %.0f publishes/s, %.0f s each | without the abuser | with it |\n|---|---|---|\n",
		groupThousands(strconv.Itoa(ab.Users)), ab.PublishesPerS, w0.Seconds)
	fmt.Fprintf(&b, "| p50 / p99 / max publish → receive, ms | %.2f / %.2f / %.0f | %.2f / %.2f / %.0f |\n", w0.P50MS, w0.P99MS, w0.MaxMS, w1.P50MS, w1.P99MS, w1.MaxMS)
	fmt.Fprintf(&b, "| delivered/s; errors; connections closed | %.0f; %d; %d | %.0f; %d; %d |\n", w0.DeliveredPerS, w0.Errors, w0.Closed, w1.DeliveredPerS, w1.Errors, w1.Closed)
	fmt.Fprintf(&b, "| server cores; load generator cores; the abuser's | %.2f; %.2f; — | %.2f; %.2f; %.2f |\n", w0.ServerCores, w0.ClientCores, w1.ServerCores, w1.ClientCores, ab.AbuserCores)
	fmt.Fprintf(&b, "| server RSS, MiB | %.1f before | %.1f at its peak (%.0f s after the window too), %.1f once the abuser left |\n",
		ab.RSSBeforeMiB, ab.RSSPeakMiB, ab.SettleSeconds, ab.RSSAfterMiB)
	a := ab.Abuser
	fmt.Fprintf(&b, "\n| what the abuser got (one token; %d rooms of %d messages of %s characters; pages of %.1f MiB from %d more) | |\n|---|---|\n",
		ab.AbuserRooms, ab.SeededPerRoom, count(int64(ab.SeedChars)), float64(ab.HistoryPageBytes)/(1<<20), ab.HistoryRooms)
	fmt.Fprintf(&b, "| `subscribe` frames with since=0 sent; sockets opened of dialled | %s; %s of %s |\n", count(a.SubscribesSent), count(a.SocketsOpened), count(a.SocketsDialed))
	fmt.Fprintf(&b, "| `rate_limited` errors; other errors | %s; %s |\n", count(a.RateLimited), formatCounts(a.OtherErrors))
	fmt.Fprintf(&b, "| upgrades refused, by status; sockets the server closed, by code | %s; %s |\n", formatCounts(a.UpgradesRefused), formatCounts(a.SocketCloses))
	fmt.Fprintf(&b, "| messages replayed; MiB received on its sockets | %s; %.1f |\n", count(a.ReplayedMessages), mib(a.BytesWS))
	fmt.Fprintf(&b, "| long-polls asked; answers, by status; MiB received | %s; %s; %.1f |\n", count(a.LongPollsSent), formatCounts(a.LongPollAnswers), mib(a.BytesLongPoll))
	fmt.Fprintf(&b, "| history pages of %d asked and left unread; their answers read at the end; MiB | %d; %s; %.1f |\n",
		wire.MaxPageLimit, a.HistoryReadsSent, formatCounts(a.HistoryAnswers), mib(a.BytesHistory))
	return b.String()
}

// count writes a count as the table's other counts are: 12,500 and 950.
func count(n int64) string { return cell(ptr(float64(n)), "%.0f") }

// formatCounts lists counts by key in key order ("1008: 9, 4429: 3"), or
// "none".
func formatCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+": "+count(m[k]))
	}
	return strings.Join(parts, ", ")
}

// pageBytes reads the newest page of room (the history reads' request)
// and returns its length.
func pageBytes(base, token, room string, before int64) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/rooms/%s/messages?before=%d&limit=%d", base, room, before, wire.MaxPageLimit), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("failed to read a page of %s: %w", room, err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return n, fmt.Errorf("failed to read a page of %s: HTTP %d: %v", room, res.StatusCode, err)
	}
	return n, nil
}
