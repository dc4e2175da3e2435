//go:build !wasm

package main

import (
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyFrameReadsTheTypeAndAnErrorsCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ head, kind, code string }{
		{`{"type":"message","room":"ab0","seq":12,"id":"x"`, "message", ""},
		{`{"type":"subscribed","room":"ab0","head":500,"recovered":true}`, "subscribed", ""},
		{`{"type":"error","code":"rate_limited","message":"slow down","ref":"ab0"}`, "error", "rate_limited"},
		{`{"type":"error","code":"forbidden","mess`, "error", "forbidden"},
		{`{"type":"error","message":"no code"}`, "error", "unknown"},
		{`{"type":"error","code":"rate_lim`, "error", "unknown"},
		{`not json`, "", ""},
	} {
		kind, code := classifyFrame([]byte(tc.head))
		assert.Equal(t, tc.kind, kind, tc.head)
		assert.Equal(t, tc.code, code, tc.head)
	}
}

func TestCloseCodeNamesTheServersCodeOr1006(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "4429", closeCode(websocket.CloseError{Code: 4429, Reason: `{"retry_after_ms":1000}`}))
	assert.Equal(t, "1008", closeCode(websocket.CloseError{Code: websocket.StatusPolicyViolation}))
	assert.Equal(t, "1006", closeCode(assert.AnError), "no close frame")
}

func TestParseRawAnswerTellsAWholeAnswerFromACutOne(t *testing.T) {
	t.Parallel()
	chunked := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	body := "1000\r\n" + string(make([]byte, 4096)) + "\r\n0\r\n\r\n"
	whole := parseRawAnswer([]byte(chunked), int64(len(chunked)+len(body)), []byte(body[len(body)-8:]))
	assert.Equal(t, rawAnswer{status: "200", complete: true}, whole)
	cut := parseRawAnswer([]byte(chunked), int64(len(chunked)+100), []byte("aaaaaaaa"))
	assert.Equal(t, rawAnswer{status: "200", complete: false}, cut)

	limited := "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 12\r\n\r\n{\"error\":1}\n"
	assert.Equal(t, rawAnswer{status: "429", complete: true}, parseRawAnswer([]byte(limited), int64(len(limited)), []byte(limited[len(limited)-8:])))
	assert.Equal(t, rawAnswer{status: "429", complete: false}, parseRawAnswer([]byte(limited[:len(limited)-3]), int64(len(limited)-3), nil))

	assert.Equal(t, "none", parseRawAnswer(nil, 0, nil).status)
	assert.Equal(t, "unreadable", parseRawAnswer([]byte("garbage"), 7, nil).status)
	assert.Equal(t, rawAnswer{status: "503"}, parseRawAnswer([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-"), 40, nil), "headers cut short")
}

func TestHistoryRequestIsOneRawGet(t *testing.T) {
	t.Parallel()
	got := string(historyRequest("127.0.0.1:8080", "ab3", 501, 500, "TOKEN"))
	assert.Equal(t, "GET /api/rooms/ab3/messages?before=501&limit=500 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"+
		"Authorization: Bearer TOKEN\r\nConnection: close\r\n\r\n", got)
}

func TestFormatCountsListsByKey(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "none", formatCounts(nil))
	assert.Equal(t, "1008: 9, 200: 12,000, 4429: 3", formatCounts(map[string]int64{"4429": 3, "1008": 9, "200": 12000}))
}

func TestAbuseFiguresAndGoals(t *testing.T) {
	t.Parallel()
	assert.Nil(t, p99Ratio(0, 12), "no baseline, no ratio")
	assert.Equal(t, 1.25, *p99Ratio(8, 10))
	assert.Equal(t, []string{"ab0", "ab1", "ab2"}, abuseRooms("ab", 3))
	assert.Equal(t, "abcab", seedBody("abc", 5))
	long := seedBody("这是一条很长的聊天消息，", 4000)
	assert.Equal(t, 4000, utf8.RuneCountInString(long))
	assert.Equal(t, 12000, len(long), "three bytes a character")
	assert.Equal(t, 1.5, mib(3<<19))

	r := newResults(false, machine{})
	r.Detail.Tether.Abuse = &abuseResult{
		Users: 1000, PublishesPerS: 500, AbuserRooms: 20, SeededPerRoom: 500, SeedChars: 1000, SettleSeconds: 15,
		HistoryRooms: 2, HistoryPageBytes: 6 << 20,
		Baseline: abuseWindow{Seconds: 30, P50MS: 3, P99MS: 20, MaxMS: 40}, Abused: abuseWindow{Seconds: 30, P50MS: 4, P99MS: 24, MaxMS: 90},
		AbuserCores: 0.3, RSSBeforeMiB: 80, RSSPeakMiB: 144, RSSGrowthMiB: 64, P99Ratio: p99Ratio(20, 24),
		Abuser: abuserCounts{SubscribesSent: 1000, RateLimited: 950, SocketCloses: map[string]int64{"4429": 4}},
	}
	assertSummary(t, r, map[string]float64{
		"abuse_rss_growth_mib": 64, "abuse_rss_growth_goal_mib": 64,
		"abuse_p99_ratio": 1.2, "abuse_p99_ratio_goal": 1.5,
		"abuse_p99_ms": 24, "abuse_baseline_p99_ms": 20,
	},
		// 64 is not under 64.
		"| server RSS growth, one abusive user beside 1,000 others, MiB (peak − before) | 64.0 | — | < 64 | **no** |",
		"| p99 publish → receive of those 1,000, with the abuser ÷ without | 1.20× | — | ≤ 1.5× | yes |",
		"| p50 / p99 / max publish → receive, ms | 3.00 / 20.00 / 40 | 4.00 / 24.00 / 90 |",
		"| `rate_limited` errors; other errors | 950; none |",
		"(one token; 20 rooms of 500 messages of 1000 characters; pages of 6.0 MiB from 2 more)",
		"load generator cores; the abuser's | 0.00; 0.00; — | 0.00; 0.00; 0.30 |",
		"sockets the server closed, by code | none; 4429: 4 |")

	r.Detail.Tether.Abuse.RSSGrowthMiB = 63.9
	assertSummary(t, r, nil, "| 63.9 | — | < 64 | yes |")
}

func TestTheAbusersRoomsTravelAsOneFlag(t *testing.T) {
	t.Parallel()
	rooms := []string{"ab0", "ab1", "ab2"}
	heads := map[string]int64{"ab0": 500, "ab1": 499, "ab2": 0}
	flag := formatHeads(rooms, heads)
	assert.Equal(t, "ab0=500,ab1=499,ab2=0", flag)
	gotRooms, gotHeads, err := parseHeads(flag)
	require.NoError(t, err)
	assert.Equal(t, rooms, gotRooms, "in order: the abuser takes them in turn")
	assert.Equal(t, heads, gotHeads)
	for _, bad := range []string{"", "ab0", "ab0=x", "=5", "ab0=-1", "ab0=1,"} {
		_, _, err := parseHeads(bad)
		assert.Error(t, err, bad)
	}
}
