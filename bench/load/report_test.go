//go:build !wasm

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// issueKeys are the keys the issue asks every run to write.
var issueKeys = []string{
	"ws_connections_held", "server_kib_per_connection", "delivered_msgs_per_s_per_core",
	"p99_publish_to_receive_ms", "longpoll_p99_ms", "wasm_brotli_ratio_vs_goapp_hello",
	"peer_delivered_ratio", "peer_memory_ratio", "reconnect_after_online_ms", "halfopen_detection_s",
	"abuse_rss_growth_mib", "abuse_rss_growth_goal_mib", "abuse_p99_ratio", "abuse_p99_ratio_goal", "abuse_p99_ms", "abuse_baseline_p99_ms",
	"idle_visible_pings_per_hour", "idle_hidden_pings_per_hour", "idle_visible_bytes_per_hour", "idle_hidden_bytes_per_hour",
	"idle_hidden_ping_ratio", "idle_hidden_ping_ratio_goal",
	"peer_redis_delivered_ratio", "p99_publish_to_receive_ms_tmpfs", "p99_ratio_vs_redis_peer", "connect_ratio_vs_hello",
	"reconnect_storm_s", "reconnect_storm_s_goal",
	"slow_link_first_visit_ratio_vs_hello", "slow_link_first_visit_ratio_vs_hello_goal",
	"slow_link_first_visit_ms", "slow_link_hello_first_visit_ms", "slow_link_return_visit_s", "slow_link_return_visit_s_goal",
}

// assertSummary summarizes r, then checks that results.json, as r writes
// it, holds each key of keys with its value, and that the table holds each
// of rows.
func assertSummary(t *testing.T, r *results, keys map[string]float64, rows ...string) {
	t.Helper()
	r.summarize()
	data, err := json.Marshal(r)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	for k, v := range keys {
		assert.Equal(t, v, got[k], "key %s", k)
	}
	md := r.markdown()
	for _, row := range rows {
		assert.Contains(t, md, row)
	}
}

func TestResultsWriteEveryKeyEvenUnmeasured(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newResults(true, machine{CPU: "test", Cores: 2})
	r.summarize()
	require.NoError(t, r.write(filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md")))
	data, err := os.ReadFile(filepath.Join(dir, "r.json"))
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	for _, k := range issueKeys {
		v, ok := got[k]
		assert.True(t, ok, "key %s is missing", k)
		assert.Nil(t, v, "key %s was not measured", k)
	}
}

// Every list the Playwright script writes lands in its figure, with the
// medians of the four the summary reads.
func TestThePlaywrightListsAreReadWithTheirMedians(t *testing.T) {
	t.Parallel()
	var fig clientFigures
	require.NoError(t, fig.readPlaywright([]byte(`{"navConnectedMs": [3, 1, 2], "navMountedMs": [4], "reconnectMs": [5, 6],
		"halfOpenS": null, "slowNavConnectedMs": [7], "slowNavMountedMs": [8], "slowFirstProgressMs": [9],
		"slowFirstVisitKB": [10], "slowReturnS": [11], "slowReturnKB": [12], "unknown": [13]}`)))
	assert.Equal(t, clientFigures{
		NavigationToConnectedMS: []float64{3, 1, 2}, NavigationToConnectedMedian: ptr(2.0),
		NavigationToMountedMS: []float64{4}, NavigationToMountedMedian: ptr(4.0),
		ReconnectRunsMS: []float64{5, 6}, ReconnectAfterOnlineMS: ptr(5.5),
		SlowNavigationToConnectedMS: []float64{7}, SlowNavigationToMountedMS: []float64{8},
		SlowFirstProgressMS: []float64{9}, SlowFirstVisitKB: []float64{10},
		SlowReturnVisitS: []float64{11}, SlowReturnVisitKB: []float64{12},
	}, fig)
	assert.Error(t, fig.readPlaywright([]byte(`{"reconnectMs": "soon"}`)))
}

func TestSummarizeComputesTheRatiosTetherOverPeer(t *testing.T) {
	t.Parallel()
	r := newResults(false, machine{})
	r.Detail.Tether.Hold = &holdResult{Held: 19000, KiBPerConnection: 12}
	r.Detail.Peer.Hold = &holdResult{Held: 19000, KiBPerConnection: 30}
	r.Detail.Tether.Throughput = &throughputResult{Best: step{PerCore: 15000}, Half: step{P99MS: 4}}
	r.Detail.Peer.Throughput = &throughputResult{Best: step{PerCore: 12000}}
	assertSummary(t, r, map[string]float64{
		"peer_memory_ratio": 0.4, "peer_delivered_ratio": 1.25,
		"ws_connections_held": 19000, "p99_publish_to_receive_ms": 4,
	},
		"| WebSocket connections held (one server process) | 19,000 | 19,000 | ≥ 50,000 | **no** |",
		"| memory per connection, tether / peer | 0.40× | — | ≤ 1.0× | yes |",
		"| long-poll delivery p99, ms | — | — | ≤ 50 | not measured |")
	assert.Nil(t, r.DurablePeerDeliveredRatio, "no run of the peer with Redis")

	r.Detail.DurablePeer.Throughput = &throughputResult{Best: step{PerCore: 7500}, Half: step{P99MS: 8}}
	r.Detail.Tether.Throughput.HalfTmpfs = &step{P99MS: 12}
	assertSummary(t, r, map[string]float64{
		"peer_redis_delivered_ratio":      2,
		"p99_ratio_vs_redis_peer":         0.5, // 4 ms over the Redis peer's 8
		"p99_publish_to_receive_ms_tmpfs": 12,
	},
		"(AOF, fsync always; Redis's CPU counted) | 2.00× | — | ≥ 1.0× | yes |",
		"| p99 at half load, tether on its disk ÷ the peer with Redis at its half load | 0.50× | — | ≤ 1.0× | yes |",
		"| p99 publish → receive at half load, data folder on tmpfs, ms | 12.00 | — | ≤ 10 | **no** |")

	r.Detail.Client = &clientFigures{NavigationToConnectedMedian: ptr(1300), NavigationToMountedMedian: ptr(1000)}
	assertSummary(t, r, map[string]float64{"connect_ratio_vs_hello": 1.3},
		"| navigation → connected ÷ hello world's navigation → mounted (medians) | 1.30× | — | ≤ 1.3× | yes |")
}

func TestBestStepPrefersTheMostDeliveredThatKeptUp(t *testing.T) {
	t.Parallel()
	steps := []step{
		{OfferedPerS: 1000, DeliveredPerS: 2000, KeptUp: true},
		{OfferedPerS: 2000, DeliveredPerS: 4000, KeptUp: true},
		{OfferedPerS: 4000, DeliveredPerS: 5000, KeptUp: false},
	}
	assert.Equal(t, 2000.0, bestStep(steps).OfferedPerS)
	assert.Equal(t, 4000.0, bestStep(steps[2:]).OfferedPerS, "with none kept up, the most delivered")
}

func TestMarkdownPath(t *testing.T) {
	t.Parallel()
	assert.Equal(t, filepath.Join("bench", "RESULTS.md"), markdownPath("bench/results.json"))
	assert.Equal(t, "/tmp/q.md", markdownPath("/tmp/q.json"))
}

func TestGroupThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"12500": "12,500", "950": "950", "1234567": "1,234,567", "-50000": "-50,000"} {
		assert.Equal(t, want, groupThousands(in))
	}
	assert.True(t, strings.HasPrefix(cell(ptr(50000), "%.0f"), "50,000"))
}

func TestTheTableShowsTheMachinesLimits(t *testing.T) {
	t.Parallel()
	r := newResults(false, machine{})
	r.Limits = limits{OpenFilesPerProcess: 20000, Disk: &diskResult{Seconds: 30, P50MS: 0.31, P99MS: 1.37, P999MS: 40, MaxMS: 223, Stalls: 39, StalledShare: 0.074}}
	md := r.markdown()
	assert.Contains(t, md, "| open files per process (hard limit: one socket each) | 20,000 |")
	assert.Contains(t, md, "p50 / p99 / p99.9 / max, ms | 0.31 / 1.37 / 40.00 / 223 |")
	assert.Contains(t, md, "| its syncs over 10 ms in 30 s, and the share of the time spent in them | 39, 7.4 % |")
}

func TestTheClusterHoldHasRowsOfItsOwn(t *testing.T) {
	t.Parallel()
	r := newResults(false, machine{})
	r.Detail.Tether.Hold = &holdResult{Held: 19800, KiBPerConnection: 14.7}
	r.Detail.Tether.Cluster = &clusterResult{Nodes: 3, Requested: 50000, Held: 50000, KiBPerConnection: 13.3}
	assertSummary(t, r, map[string]float64{
		"ws_connections_held":       19800, // the issue's key stays one process's
		"ws_connections_held_nodes": 50000,
	},
		"| WebSocket connections held (one server process) | 19,800 | — | ≥ 50,000 | **no** |",
		"| WebSocket connections held (3 tether nodes on this machine, one PostgreSQL) | 50,000 | — | ≥ 50,000 | yes |",
		"| server memory per connection, KiB (RSS, 3 tether nodes on this machine, one PostgreSQL) | 13.3 | — | ≤ 16 | yes |")
}

func TestTheIdleHeartbeatIsMeasuredOnTheServicesOwnClock(t *testing.T) {
	t.Parallel()
	hb, err := runHeartbeat()
	require.NoError(t, err)
	assert.Equal(t, 720.0, hb.VisiblePingsPerHour, "one every 5 s")
	// From the welcome's 15 s, stretching to twice it while the link holds:
	// 15, 22.5, then every 30 s.
	assert.Equal(t, 121.0, hb.HiddenPingsPerHour, "about one every 30 s")
	assert.Equal(t, 0.17, hb.HiddenRatio)
	assert.Greater(t, hb.HiddenBytesPerHour, 0.0)
}

func TestTheSlowLinkFiguresAreMediansBesideTheirGoals(t *testing.T) {
	t.Parallel()
	r := newResults(true, machine{})
	r.Detail.Client = &clientFigures{
		SlowNavigationToConnectedMS: []float64{46000, 45000, 47000},
		SlowNavigationToMountedMS:   []float64{62000, 60000, 61000},
		SlowReturnVisitS:            []float64{1.6, 2.4, 2.0},
	}
	assertSummary(t, r, map[string]float64{
		"slow_link_first_visit_ms": 46000, "slow_link_hello_first_visit_ms": 61000,
		"slow_link_first_visit_ratio_vs_hello": 0.75, "slow_link_first_visit_ratio_vs_hello_goal": 1,
		"slow_link_return_visit_s": 2, "slow_link_return_visit_s_goal": 3,
	},
		"| slow phone link, first visit: navigation → connected ÷ hello world's → mounted (median) | 0.75× | — | ≤ 1.0× | yes |",
		"| slow phone link, return visit a day later: navigation → connected, s (median) | 2.0 | — | ≤ 3 | yes |")
}
