//go:build !wasm

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
)

// results is what a run writes. The first keys are the issue's; a key whose
// phase did not run (or failed) is null.
type results struct {
	WSConnectionsHeld      *float64 `json:"ws_connections_held"`
	ServerKiBPerConnection *float64 `json:"server_kib_per_connection"`
	DeliveredPerSPerCore   *float64 `json:"delivered_msgs_per_s_per_core"`
	P99PublishToReceiveMS  *float64 `json:"p99_publish_to_receive_ms"`
	LongPollP99MS          *float64 `json:"longpoll_p99_ms"`
	WasmBrotliRatio        *float64 `json:"wasm_brotli_ratio_vs_goapp_hello"`
	PeerDeliveredRatio     *float64 `json:"peer_delivered_ratio"`
	PeerMemoryRatio        *float64 `json:"peer_memory_ratio"`
	ReconnectAfterOnlineMS *float64 `json:"reconnect_after_online_ms"`
	HalfOpenDetectionS     *float64 `json:"halfopen_detection_s"`
	// The same two as the first, over several tether nodes when one process
	// may not open all the connections (see runClusterHold); null otherwise.
	// The peer with its history in Redis (append-only file, fsync always):
	// tether's delivered per core over its.
	DurablePeerDeliveredRatio   *float64 `json:"peer_redis_delivered_ratio"`
	WSConnectionsHeldNodes      *float64 `json:"ws_connections_held_nodes"`
	ServerKiBPerConnectionNodes *float64 `json:"server_kib_per_connection_nodes"`
	// One abusive user beside 1,000 normal ones (runAbuse): what it grew
	// the server's RSS by, and the normal users' p99 with it over their p99
	// without, each beside what it is compared with.
	AbuseRSSGrowthMiB     *float64 `json:"abuse_rss_growth_mib"`
	AbuseRSSGrowthGoalMiB *float64 `json:"abuse_rss_growth_goal_mib"`
	AbuseP99Ratio         *float64 `json:"abuse_p99_ratio"`
	AbuseP99RatioGoal     *float64 `json:"abuse_p99_ratio_goal"`
	AbuseP99MS            *float64 `json:"abuse_p99_ms"`
	AbuseBaselineP99MS    *float64 `json:"abuse_baseline_p99_ms"`
	// An idle page's heartbeat over an hour of the service's own clock
	// (runHeartbeat): pings and bytes visible and hidden, and the hidden
	// pace over the visible one beside its goal.
	IdleVisiblePingsPerHour *float64 `json:"idle_visible_pings_per_hour"`
	IdleHiddenPingsPerHour  *float64 `json:"idle_hidden_pings_per_hour"`
	IdleVisibleBytesPerHour *float64 `json:"idle_visible_bytes_per_hour"`
	IdleHiddenBytesPerHour  *float64 `json:"idle_hidden_bytes_per_hour"`
	IdleHiddenPingRatio     *float64 `json:"idle_hidden_ping_ratio"`
	IdleHiddenPingRatioGoal *float64 `json:"idle_hidden_ping_ratio_goal"`
	// p99 publish → receive at half load with the data folder on tmpfs
	// (the software's floor, no disk stalls), and tether's p99 at half load
	// on the real disk over the Redis peer's at its own half load.
	P99TmpfsMS             *float64 `json:"p99_publish_to_receive_ms_tmpfs"`
	P99TmpfsGoalMS         *float64 `json:"p99_publish_to_receive_ms_tmpfs_goal"`
	P99RatioVsRedisPeer    *float64 `json:"p99_ratio_vs_redis_peer"`
	P99RatioVsRedisGoal    *float64 `json:"p99_ratio_vs_redis_peer_goal"`
	RedisPeerP99MS         *float64 `json:"peer_redis_p99_publish_to_receive_ms"`
	PeerDeliveredGoal      *float64 `json:"peer_delivered_ratio_goal"`
	PeerRedisDeliveredGoal *float64 `json:"peer_redis_delivered_ratio_goal"`
	// Navigation → connected over the hello world's navigation → mounted,
	// medians of the same run, beside its goal.
	ConnectRatioVsHello     *float64 `json:"connect_ratio_vs_hello"`
	ConnectRatioVsHelloGoal *float64 `json:"connect_ratio_vs_hello_goal"`
	// The reconnect storm (runStorm): from the restarted server accepting
	// to the last client caught up, beside its goal; null unless every
	// client caught up with nothing lost, doubled or out of order.
	ReconnectStormS     *float64 `json:"reconnect_storm_s"`
	ReconnectStormGoalS *float64 `json:"reconnect_storm_s_goal"`
	// On an emulated slow phone link (40 KB/s down, 300 ms a round trip):
	// a first visit's navigation → connected over the hello world's
	// navigation → mounted (medians), each beside it, and a return visit a
	// day later (service worker and HTTP cache kept), beside their goals.
	SlowLinkFirstVisitRatio     *float64 `json:"slow_link_first_visit_ratio_vs_hello"`
	SlowLinkFirstVisitRatioGoal *float64 `json:"slow_link_first_visit_ratio_vs_hello_goal"`
	SlowLinkFirstVisitMS        *float64 `json:"slow_link_first_visit_ms"`
	SlowLinkHelloFirstVisitMS   *float64 `json:"slow_link_hello_first_visit_ms"`
	SlowLinkReturnVisitS        *float64 `json:"slow_link_return_visit_s"`
	SlowLinkReturnVisitGoalS    *float64 `json:"slow_link_return_visit_s_goal"`

	Quick   bool     `json:"quick"`
	Pinned  bool     `json:"pinned"`
	Machine machine  `json:"machine"`
	Limits  limits   `json:"limits"`
	Notes   []string `json:"notes,omitempty"`
	Detail  detail   `json:"detail"`
}

// limits are the machine's own bounds on the figures, measured in the run.
type limits struct {
	// OpenFilesPerProcess caps the sockets one process can hold.
	OpenFilesPerProcess int64 `json:"open_files_per_process"`
	// Disk is the disk under the data folders alone (runDisk).
	Disk *diskResult `json:"disk_fdatasync"`
}

type detail struct {
	Tether serverDetail `json:"tether"`
	Peer   serverDetail `json:"peer"`
	// DurablePeer is the peer with its history in Redis, synced to disk
	// before every reply (load phase only).
	DurablePeer serverDetail     `json:"peer_redis"`
	Client      *clientFigures   `json:"client"`
	Heartbeat   *heartbeatResult `json:"heartbeat,omitempty"`
}

type serverDetail struct {
	Hold       *holdResult       `json:"hold"`
	Cluster    *clusterResult    `json:"cluster_hold,omitempty"`
	Throughput *throughputResult `json:"throughput"`
	LongPoll   *longPollResult   `json:"longpoll,omitempty"`
	Abuse      *abuseResult      `json:"abuse,omitempty"`
	Storm      *stormResult      `json:"storm,omitempty"`
}

func newResults(quick bool, m machine) *results { return &results{Quick: quick, Machine: m} }

func ptr(x float64) *float64 { return &x }

// summarize fills the keys from the details.
func (r *results) summarize() {
	t, p := r.Detail.Tether, r.Detail.Peer
	if t.Hold != nil {
		r.WSConnectionsHeld = ptr(float64(t.Hold.Held))
		r.ServerKiBPerConnection = ptr(t.Hold.KiBPerConnection)
		if p.Hold != nil && p.Hold.KiBPerConnection > 0 {
			r.PeerMemoryRatio = ptr(round2(t.Hold.KiBPerConnection / p.Hold.KiBPerConnection))
		}
	}
	if t.Cluster != nil {
		r.WSConnectionsHeldNodes = ptr(float64(t.Cluster.Held))
		r.ServerKiBPerConnectionNodes = ptr(t.Cluster.KiBPerConnection)
	}
	if t.Throughput != nil {
		r.DeliveredPerSPerCore = ptr(t.Throughput.Best.PerCore)
		r.P99PublishToReceiveMS = ptr(t.Throughput.Half.P99MS)
		if p.Throughput != nil && p.Throughput.Best.PerCore > 0 {
			r.PeerDeliveredRatio = ptr(round2(t.Throughput.Best.PerCore / p.Throughput.Best.PerCore))
		}
		r.PeerDeliveredGoal = ptr(peerDeliveredGoal)
		if d := r.Detail.DurablePeer.Throughput; d != nil && d.Best.PerCore > 0 {
			r.DurablePeerDeliveredRatio = ptr(round2(t.Throughput.Best.PerCore / d.Best.PerCore))
			r.PeerRedisDeliveredGoal = ptr(peerRedisDeliveredGoal)
			r.RedisPeerP99MS = ptr(d.Half.P99MS)
			if d.Half.P99MS > 0 {
				r.P99RatioVsRedisPeer, r.P99RatioVsRedisGoal = ptr(round2(t.Throughput.Half.P99MS/d.Half.P99MS)), ptr(p99VsRedisGoal)
			}
		}
		if h := t.Throughput.HalfTmpfs; h != nil {
			r.P99TmpfsMS, r.P99TmpfsGoalMS = ptr(h.P99MS), ptr(p99TmpfsGoalMS)
		}
	}
	if t.LongPoll != nil {
		r.LongPollP99MS = ptr(t.LongPoll.P99MS)
	}
	if ab := t.Abuse; ab != nil {
		r.AbuseRSSGrowthMiB, r.AbuseRSSGrowthGoalMiB = ptr(ab.RSSGrowthMiB), ptr(abuseRSSGoalMiB)
		r.AbuseP99Ratio, r.AbuseP99RatioGoal = ab.P99Ratio, ptr(abuseP99Goal)
		r.AbuseP99MS, r.AbuseBaselineP99MS = ptr(ab.Abused.P99MS), ptr(ab.Baseline.P99MS)
	}
	if st := r.Detail.Tether.Storm; st != nil {
		r.ReconnectStormGoalS = ptr(stormGoalS)
		if why := st.invalid(); why == "" {
			r.ReconnectStormS = st.CaughtUpSeconds
		} else {
			r.Notes = append(r.Notes, "the reconnect storm's figure is left out (null): "+why)
		}
	}
	if h := r.Detail.Heartbeat; h != nil {
		r.IdleVisiblePingsPerHour, r.IdleHiddenPingsPerHour = ptr(h.VisiblePingsPerHour), ptr(h.HiddenPingsPerHour)
		r.IdleVisibleBytesPerHour, r.IdleHiddenBytesPerHour = ptr(h.VisibleBytesPerHour), ptr(h.HiddenBytesPerHour)
		r.IdleHiddenPingRatio, r.IdleHiddenPingRatioGoal = ptr(h.HiddenRatio), ptr(heartbeatHiddenGoal)
	}
	if c := r.Detail.Client; c != nil {
		if c.Wasm.Tether.Brotli > 0 && c.Wasm.Hello.Brotli > 0 {
			r.WasmBrotliRatio = ptr(math.Round(float64(c.Wasm.Tether.Brotli)/float64(c.Wasm.Hello.Brotli)*1000) / 1000)
		}
		if c.NavigationToConnectedMedian != nil && c.NavigationToMountedMedian != nil && *c.NavigationToMountedMedian > 0 {
			r.ConnectRatioVsHello = ptr(round2(*c.NavigationToConnectedMedian / *c.NavigationToMountedMedian))
			r.ConnectRatioVsHelloGoal = ptr(connectVsHelloGoal)
		}
		r.ReconnectAfterOnlineMS = c.ReconnectAfterOnlineMS
		r.HalfOpenDetectionS = c.HalfOpenDetectionS
		r.SlowLinkFirstVisitMS = medianPtr(c.SlowNavigationToConnectedMS)
		r.SlowLinkHelloFirstVisitMS = medianPtr(c.SlowNavigationToMountedMS)
		if t, h := r.SlowLinkFirstVisitMS, r.SlowLinkHelloFirstVisitMS; t != nil && h != nil && *h > 0 {
			r.SlowLinkFirstVisitRatio, r.SlowLinkFirstVisitRatioGoal = ptr(round2(*t / *h)), ptr(slowFirstVisitRatioGoal)
		}
		if s := medianPtr(c.SlowReturnVisitS); s != nil {
			r.SlowLinkReturnVisitS, r.SlowLinkReturnVisitGoalS = s, ptr(slowReturnVisitGoalS)
		}
	}
}

// The goals of the figures compared with another in the same run.
const (
	peerDeliveredGoal      = 0.6 // delivered per core ÷ the in-memory peer's
	peerRedisDeliveredGoal = 1.0 // ÷ the peer with its history in Redis
	p99TmpfsGoalMS         = 10  // p99 at half load, data on tmpfs
	p99VsRedisGoal         = 1.0 // p99 at half load ÷ the Redis peer's
	connectVsHelloGoal     = 1.3 // navigation → connected ÷ hello world → mounted
)

// The slow link's goals: a first visit no slower than go-app's hello
// world's on the same link, and a return visit within 3 s.
const (
	slowFirstVisitRatioGoal = 1.0
	slowReturnVisitGoalS    = 3.0
)

// goal is one row of the table: a figure of tether's, the peer's when it
// has one, and the bound it must meet.
type goal struct {
	metric string
	tether *float64
	peer   *float64
	bound  float64
	atMost bool // the figure must stay at or under bound (else at or over)
	format string
	goal   string
	info   bool // a figure for context, with no goal of its own
	strict bool // the figure must stay under bound (or over it), not reach it
}

func (g goal) met() string {
	if g.info {
		return "—"
	}
	if g.tether == nil {
		return "not measured"
	}
	ok := *g.tether >= g.bound
	if g.atMost {
		ok = *g.tether <= g.bound
	}
	if g.strict && *g.tether == g.bound {
		ok = false
	}
	if ok {
		return "yes"
	}
	return "**no**"
}

func (r *results) goals() []goal {
	p := r.Detail.Peer
	var peerHeld, peerKiB, peerPerCore, peerP99 *float64
	if p.Hold != nil {
		peerHeld, peerKiB = ptr(float64(p.Hold.Held)), ptr(p.Hold.KiBPerConnection)
	}
	if p.Throughput != nil {
		peerPerCore, peerP99 = ptr(p.Throughput.Best.PerCore), ptr(p.Throughput.Half.P99MS)
	}
	goals := []goal{
		{"WebSocket connections held (one server process)", r.WSConnectionsHeld, peerHeld, 50000, false, "%.0f", "≥ 50,000", false, false},
		{"server memory per connection, KiB (RSS)", r.ServerKiBPerConnection, peerKiB, 16, true, "%.1f", "≤ 16", false, false},
	}
	if cl := r.Detail.Tether.Cluster; cl != nil {
		nodes := fmt.Sprintf("%d tether nodes on this machine, one PostgreSQL", cl.Nodes)
		goals = append(goals,
			goal{"WebSocket connections held (" + nodes + ")", r.WSConnectionsHeldNodes, nil, 50000, false, "%.0f", "≥ 50,000", false, false},
			goal{"server memory per connection, KiB (RSS, " + nodes + ")", r.ServerKiBPerConnectionNodes, nil, 16, true, "%.1f", "≤ 16", false, false})
	}
	return append(goals, []goal{
		{"delivered msg/s per server core (tether: every message in SQLite first)", r.DeliveredPerSPerCore, peerPerCore, 12500, false, "%.0f", "≥ 12,500", false, false},
		{"p99 publish → receive at half that load, ms", r.P99PublishToReceiveMS, peerP99, 10, true, "%.2f", "≤ 10", false, false},
		{"long-poll delivery p99, ms", r.LongPollP99MS, nil, 50, true, "%.2f", "≤ 50", false, false},
		{metric: "p99 publish → receive at half load, data folder on tmpfs, ms", tether: r.P99TmpfsMS,
			bound: p99TmpfsGoalMS, atMost: true, format: "%.2f", goal: "≤ 10"},
		{metric: "p99 at half load, tether on its disk ÷ the peer with Redis at its half load", tether: r.P99RatioVsRedisPeer,
			bound: p99VsRedisGoal, atMost: true, format: "%.2f×", goal: "≤ 1.0×"},
		{"delivered per core, tether / peer", r.PeerDeliveredRatio, nil, peerDeliveredGoal, false, "%.2f×", "≥ 0.6×", false, false},
		{"delivered per core, tether / peer with its history in Redis (AOF, fsync always; Redis's CPU counted)", r.DurablePeerDeliveredRatio, nil, peerRedisDeliveredGoal, false, "%.2f×", "≥ 1.0×", false, false},
		{"memory per connection, tether / peer", r.PeerMemoryRatio, nil, 1, true, "%.2f×", "≤ 1.0×", false, false},
		{"app.wasm brotli, tether / go-app hello world", r.WasmBrotliRatio, nil, 1.05, true, "%.3f×", "≤ 1.05×", false, false},
		{"reconnect after `online`, ms (median)", r.ReconnectAfterOnlineMS, nil, 300, true, "%.0f", "≤ 300", false, false},
		{"half-open link detected, s (median)", r.HalfOpenDetectionS, nil, 20, true, "%.1f", "≤ 20", false, false},
		{metric: "navigation → connected ÷ hello world's navigation → mounted (medians)", tether: r.ConnectRatioVsHello,
			bound: connectVsHelloGoal, atMost: true, format: "%.2f×", goal: "≤ 1.3×"},
		{metric: "slow phone link, first visit: navigation → connected ÷ hello world's → mounted (median)", tether: r.SlowLinkFirstVisitRatio,
			bound: slowFirstVisitRatioGoal, atMost: true, format: "%.2f×", goal: "≤ 1.0×"},
		{metric: "slow phone link, return visit a day later: navigation → connected, s (median)", tether: r.SlowLinkReturnVisitS,
			bound: slowReturnVisitGoalS, atMost: true, format: "%.1f", goal: "≤ 3"},
		{metric: "server RSS growth, one abusive user beside 1,000 others, MiB (peak − before)", tether: r.AbuseRSSGrowthMiB,
			bound: abuseRSSGoalMiB, atMost: true, strict: true, format: "%.1f", goal: "< 64"},
		{metric: "p99 publish → receive of those 1,000, with the abuser ÷ without", tether: r.AbuseP99Ratio,
			bound: abuseP99Goal, atMost: true, format: "%.2f×", goal: "≤ 1.5×"},
		{metric: r.stormMetric(), tether: r.ReconnectStormS,
			bound: stormGoalS, atMost: true, format: "%.1f", goal: "≤ 20"},
		{metric: "idle page: pings an hour, visible", tether: r.IdleVisiblePingsPerHour, format: "%.0f", goal: "—", info: true},
		{metric: "idle page: pings an hour, hidden", tether: r.IdleHiddenPingsPerHour, format: "%.0f", goal: "—", info: true},
		{metric: "idle page: heartbeat bytes an hour (pings and pongs, WebSocket frames), visible", tether: r.IdleVisibleBytesPerHour, format: "%.0f", goal: "—", info: true},
		{metric: "idle page: heartbeat bytes an hour (pings and pongs, WebSocket frames), hidden", tether: r.IdleHiddenBytesPerHour, format: "%.0f", goal: "—", info: true},
		{metric: "idle page: hidden pings ÷ visible", tether: r.IdleHiddenPingRatio,
			bound: heartbeatHiddenGoal, atMost: true, format: "%.2f×", goal: "≤ 0.25×"},
	}...)
}

func cell(v *float64, format string) string {
	if v == nil {
		return "—"
	}
	s := fmt.Sprintf(format, *v)
	// Thousands separators for the large counts.
	if strings.HasSuffix(format, ".0f") && math.Abs(*v) >= 10000 {
		s = groupThousands(s)
	}
	return s
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// markdown renders the table and the machine line.
func (r *results) markdown() string {
	var b strings.Builder
	kind := "full run (`make bench`)"
	if r.Quick {
		kind = "quick run (`make bench QUICK=1`): smaller counts, shorter windows"
	}
	fmt.Fprintf(&b, "# Benchmark results\n\n%s. How they are taken: [docs/BENCHMARKS.md](../docs/BENCHMARKS.md).\n\n", kind)
	fmt.Fprintf(&b, "Machine: %s, %d cores, kernel %s, %s, %s", r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel, r.Machine.Go, r.Machine.Date)
	if r.Pinned {
		b.WriteString("; servers pinned to CPU 1, the load generator to CPU 0")
	}
	b.WriteString(".\n\n| metric | tether | peer (centrifuge v0.40.1) | goal | met? |\n|---|---|---|---|---|\n")
	for _, g := range r.goals() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", g.metric, cell(g.tether, g.format), cell(g.peer, g.format), g.goal, g.met())
	}
	b.WriteString("\n| limit of this machine, measured in the run | figure |\n|---|---|\n")
	fmt.Fprintf(&b, "| open files per process (hard limit: one socket each) | %s |\n", cell(ptr(float64(r.Limits.OpenFilesPerProcess)), "%.0f"))
	if d := r.Limits.Disk; d != nil {
		fmt.Fprintf(&b, "| fdatasync of 16 KiB under the data folder, alone: p50 / p99 / p99.9 / max, ms | %.2f / %.2f / %.2f / %.0f |\n", d.P50MS, d.P99MS, d.P999MS, d.MaxMS)
		fmt.Fprintf(&b, "| its syncs over 10 ms in %.0f s, and the share of the time spent in them | %d, %.1f %% |\n", d.Seconds, d.Stalls, d.StalledShare*100)
	}
	if c := r.Detail.Client; c != nil {
		b.WriteString("\n| client figure | tether | go-app hello world |\n|---|---|---|\n")
		w := c.Wasm
		fmt.Fprintf(&b, "| app.wasm raw / gzip / brotli, KiB | %s / %s / %s | %s / %s / %s |\n",
			kib(w.Tether.Raw), kib(w.Tether.Gzip), kib(w.Tether.Brotli), kib(w.Hello.Raw), kib(w.Hello.Gzip), kib(w.Hello.Brotli))
		fmt.Fprintf(&b, "| navigation → connected (tether) / mounted (hello), ms, median of %d | %s | %s |\n",
			len(c.NavigationToConnectedMS), cell(c.NavigationToConnectedMedian, "%.0f"), cell(c.NavigationToMountedMedian, "%.0f"))
		if len(c.SlowNavigationToConnectedMS) > 0 {
			fmt.Fprintf(&b, "| slow link (40 KB/s, 300 ms RTT), first visit: navigation → connected / mounted, ms, median of %d | %s | %s |\n",
				len(c.SlowNavigationToConnectedMS), cell(r.SlowLinkFirstVisitMS, "%.0f"), cell(r.SlowLinkHelloFirstVisitMS, "%.0f"))
			fmt.Fprintf(&b, "| slow link: loader's progress above 0%%, ms after navigation (median) | %s | |\n", cell(medianPtr(c.SlowFirstProgressMS), "%.0f"))
			fmt.Fprintf(&b, "| slow link: return visit a day later, navigation → connected, s (median) | %s | |\n", cell(r.SlowLinkReturnVisitS, "%.1f"))
		}
	}
	if t := r.Detail.Tether.Throughput; t != nil {
		b.WriteString("\n| load step (tether) | offered pub/s | delivered/s | server cores | per core | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|\n")
		for i, s := range t.Steps {
			fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.2f | %.0f | %.2f | %.2f |\n", i+1, s.OfferedPerS, s.DeliveredPerS, s.ServerCores, s.PerCore, s.P50MS, s.P99MS)
		}
	}
	for _, p := range []struct {
		name string
		t    *throughputResult
	}{{"peer", r.Detail.Peer.Throughput}, {"peer with Redis", r.Detail.DurablePeer.Throughput}} {
		if p.t == nil {
			continue
		}
		fmt.Fprintf(&b, "\n| load step (%s) | offered pub/s | delivered/s | server cores | per core | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|\n", p.name)
		for i, s := range p.t.Steps {
			fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.2f | %.0f | %.2f | %.2f |\n", i+1, s.OfferedPerS, s.DeliveredPerS, s.ServerCores, s.PerCore, s.P50MS, s.P99MS)
		}
	}
	if ab := r.Detail.Tether.Abuse; ab != nil {
		b.WriteString(ab.markdown())
	}
	if st := r.Detail.Tether.Storm; st != nil {
		b.WriteString(st.markdown())
	}
	b.WriteString("\nWhat limits each goal that is missed, and what the server changed for these figures: " +
		"[docs/BENCHMARKS.md](../docs/BENCHMARKS.md#what-limits-the-figures-here). " +
		"The p99 at half load is each server's at half of its own best step; `bench/results.json` has every step.\n")
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

func kib(n int64) string {
	if n == 0 {
		return "—"
	}
	return groupThousands(fmt.Sprintf("%d", (n+512)/1024))
}

// write writes the JSON and the Markdown.
func (r *results) write(jsonPath, mdPath string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(mdPath, []byte(r.markdown()), 0o644)
}

// render rewrites the Markdown of a results file (after a change to the
// table's layout, without running the benchmarks again).
func render(jsonPath, mdPath string) error {
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return err
	}
	var r results
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("failed to read %s: %w", jsonPath, err)
	}
	return os.WriteFile(mdPath, []byte(r.markdown()), 0o644)
}
