//go:build !wasm

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"tether/conn/wire"
)

// What one abusive user does at once, with one token (the figures).
const (
	abuseSockets      = 10   // WebSockets it opens, sharing the subscribes
	abuseSubscribes   = 1000 // subscribe frames with since=0, all sockets together
	abuseLongPolls    = 500  // long-polls it keeps waiting at once
	abuseHistoryReads = 50   // history pages it asks for and never reads
	// abuseRcvBuf is the receive buffer of a history read's socket: the
	// server's answer stops in the kernel once it holds that much.
	abuseRcvBuf = 4096
	// abuseRetryPause is all the abuser waits before it dials or asks
	// again after a refusal, whatever Retry-After says. It keeps the
	// abuser from spinning the core the load generator shares with it.
	abuseRetryPause = 250 * time.Millisecond
)

// abuserCounts is what the abuser got: how the server's bounds answered it.
type abuserCounts struct {
	SubscribesSent   int64 `json:"subscribes_sent"`
	SocketsDialed    int64 `json:"sockets_dialed"`
	SocketsOpened    int64 `json:"sockets_opened"`
	RateLimited      int64 `json:"rate_limited_errors"`
	ReplayedMessages int64 `json:"replayed_messages"`
	// OtherErrors are the error frames other than rate_limited, by code.
	OtherErrors map[string]int64 `json:"other_errors"`
	// UpgradesRefused are the upgrades answered with an HTTP status, by it.
	UpgradesRefused map[string]int64 `json:"upgrades_refused"`
	// SocketCloses are the sockets the server ended, by close code
	// ("1006": no close frame).
	SocketCloses     map[string]int64 `json:"socket_closes"`
	LongPollsSent    int64            `json:"long_polls_sent"`
	LongPollAnswers  map[string]int64 `json:"long_poll_answers"`
	HistoryReadsSent int64            `json:"history_reads_sent"`
	// HistoryAnswers are the history reads' answers, read once the abuse
	// was over: by status ("none": nothing came), "cut" for an answer the
	// server ended before its last byte, "unfinished" for one still coming
	// when the abuser stopped reading.
	HistoryAnswers map[string]int64 `json:"history_answers"`
	BytesWS        int64            `json:"bytes_received_websocket"`
	BytesLongPoll  int64            `json:"bytes_received_long_poll"`
	BytesHistory   int64            `json:"bytes_received_history"`
}

// abuser is one user who asks for everything at once and obeys nothing:
// it keeps going when told rate_limited, 429 or 503, and never reads the
// answers of its history reads.
type abuser struct {
	base    string
	token   string
	rooms   []string // subscribed to and long-polled
	history []string // whose newest page it asks for and never reads
	heads   map[string]int64
	httpCli *http.Client

	subscribes, rateLimited, replayed, dialed, opened atomic.Int64
	longPolls, historySent                            atomic.Int64
	bytesWS, bytesLP, bytesHist                       atomic.Int64

	mu      sync.Mutex
	tallies map[string]map[string]int64 // OtherErrors, UpgradesRefused, …
	raw     []net.Conn                  // the history reads' sockets

	stopNew context.CancelFunc // no new work after it
	closeFn context.CancelFunc // ends every connection
	wg      sync.WaitGroup
}

func newAbuser(base, token string, rooms, history []string, heads map[string]int64) *abuser {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 100)}}
	return &abuser{base: base, token: token, rooms: rooms, history: history, heads: heads, tallies: map[string]map[string]int64{},
		httpCli: &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: abuseLongPolls}}}
}

// tally counts one answer of kind (a key of tallies) under key.
func (a *abuser) tally(kind, key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tallies[kind] == nil {
		a.tallies[kind] = map[string]int64{}
	}
	a.tallies[kind][key]++
}

// start sets everything going; stop ends the new work, close the rest.
func (a *abuser) start() {
	work, stopNew := context.WithCancel(context.Background())
	conns, closeFn := context.WithCancel(context.Background())
	a.stopNew, a.closeFn = stopNew, closeFn
	for i := range abuseHistoryReads {
		a.wg.Go(func() { a.historyRead(conns, a.history[i%len(a.history)]) })
	}
	for i := range abuseSockets {
		share := abuseSubscribes / abuseSockets
		if i < abuseSubscribes%abuseSockets {
			share++
		}
		a.wg.Go(func() { a.subscriber(work, conns, i, share) })
	}
	for i := range abuseLongPolls {
		a.wg.Go(func() { a.longPoll(work, conns, a.rooms[i%len(a.rooms)]) })
	}
}

// stop ends the abuser's new work; what it holds stays open until close.
func (a *abuser) stop() { a.stopNew() }

// close reads what came on the history reads' sockets, ends every
// connection and returns the counts.
func (a *abuser) close() abuserCounts {
	a.stopNew()
	a.readHistoryAnswers(2 * time.Second)
	a.closeFn()
	a.wg.Wait()
	a.httpCli.CloseIdleConnections()
	c := abuserCounts{
		SubscribesSent: a.subscribes.Load(), SocketsDialed: a.dialed.Load(), SocketsOpened: a.opened.Load(),
		RateLimited: a.rateLimited.Load(), ReplayedMessages: a.replayed.Load(),
		LongPollsSent: a.longPolls.Load(), HistoryReadsSent: a.historySent.Load(),
		BytesWS: a.bytesWS.Load(), BytesLongPoll: a.bytesLP.Load(), BytesHistory: a.bytesHist.Load(),
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	get := func(kind string) map[string]int64 {
		m := maps.Clone(a.tallies[kind])
		if m == nil {
			m = map[string]int64{}
		}
		return m
	}
	c.OtherErrors, c.UpgradesRefused, c.SocketCloses = get("error"), get("upgrade"), get("close")
	c.LongPollAnswers, c.HistoryAnswers = get("longpoll"), get("history")
	return c
}

// subscriber sends frames subscribe frames (since=0, the rooms in turn) on
// one socket, dialling again whenever the server ends it, and reads what
// comes back until conns ends.
func (a *abuser) subscriber(work, conns context.Context, slot, frames int) {
	sent := 0
	for first := true; sent < frames && work.Err() == nil; first = false {
		if !first {
			sleepCtx(work, abuseRetryPause)
		}
		a.dialed.Add(1)
		ws, res, err := websocket.Dial(work, "ws"+a.base[len("http"):]+"/api/ws", &websocket.DialOptions{
			HTTPClient: a.httpCli, Subprotocols: []string{wire.Subprotocol}})
		if err != nil {
			if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
				a.tally("upgrade", strconv.Itoa(res.StatusCode))
			} else if work.Err() == nil {
				a.tally("upgrade", "error")
			}
			continue
		}
		a.opened.Add(1)
		ws.SetReadLimit(1 << 20)
		ended, welcomed := make(chan struct{}), make(chan struct{})
		go func() { defer close(ended); a.readSocket(conns, ws, welcomed) }()
		// Writes take conns, not work: a write whose context ends closes
		// the socket, which the server did not do.
		hello, _ := wire.Encode(&wire.Hello{Token: a.token})
		err = ws.Write(conns, websocket.MessageText, hello)
		// The subscribes follow the welcome, as from any client: today's
		// server stops its hello timer only once the burst that brought the
		// hello is handled, and would close the socket (1008, "no hello")
		// 10 s into the replays of subscribes sent along with it.
		select {
		case <-welcomed:
		case <-ended:
		case <-time.After(10 * time.Second):
		}
		for err == nil && sent < frames && work.Err() == nil {
			f, _ := wire.Encode(&wire.Subscribe{Room: a.rooms[(slot+sent)%len(a.rooms)], Since: 0})
			if err = ws.Write(conns, websocket.MessageText, f); err == nil {
				sent++
				a.subscribes.Add(1)
			}
		}
		select {
		case <-ended:
			continue // the server ended it: dial again for what is left
		case <-conns.Done():
		}
		ws.CloseNow()
		<-ended
		return
	}
	<-conns.Done()
}

// readSocket counts what the server sends on one socket until it ends it
// (counted by close code) or conns ends. It closes welcomed at the welcome.
func (a *abuser) readSocket(conns context.Context, ws *websocket.Conn, welcomed chan struct{}) {
	defer ws.CloseNow()
	head := make([]byte, 128)
	for {
		_, r, err := ws.Reader(conns)
		if err != nil {
			if conns.Err() == nil {
				a.tally("close", closeCode(err))
			}
			return
		}
		n, _ := io.ReadFull(r, head)
		rest, _ := io.Copy(io.Discard, r)
		a.bytesWS.Add(int64(n) + rest)
		switch kind, code := classifyFrame(head[:n]); kind {
		case "welcome":
			if welcomed != nil {
				close(welcomed)
				welcomed = nil
			}
		case "message":
			a.replayed.Add(1)
		case "error":
			if code == wire.CodeRateLimited {
				a.rateLimited.Add(1)
			} else {
				a.tally("error", code)
			}
		}
	}
}

// closeCode names how a socket ended: its close code, or 1006 when the
// server sent no close frame.
func closeCode(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return strconv.Itoa(int(code))
	}
	return strconv.Itoa(int(wire.CloseAbnormal))
}

// classifyFrame reads the type of a server frame from its first bytes, and
// the code of an error frame.
func classifyFrame(head []byte) (kind, code string) {
	const typ = `{"type":"`
	if !bytes.HasPrefix(head, []byte(typ)) {
		return "", ""
	}
	k, _, _ := bytes.Cut(head[len(typ):], []byte(`"`))
	if string(k) != "error" {
		return string(k), ""
	}
	i := bytes.Index(head, []byte(`"code":"`))
	if i < 0 {
		return "error", "unknown"
	}
	c, _, ok := bytes.Cut(head[i+len(`"code":"`):], []byte(`"`))
	if !ok {
		return "error", "unknown"
	}
	return "error", string(c)
}

// longPoll keeps one long-poll waiting past its room's head until work
// ends, asking again at once (after abuseRetryPause when refused).
func (a *abuser) longPoll(work, conns context.Context, room string) {
	url := fmt.Sprintf("%s/api/rooms/%s/messages?since=%d&wait=%d", a.base, room, a.heads[room], wire.MaxWaitSeconds)
	for work.Err() == nil {
		req, err := http.NewRequestWithContext(conns, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+a.token)
		a.longPolls.Add(1)
		res, err := a.httpCli.Do(req)
		if err != nil {
			if conns.Err() == nil {
				a.tally("longpoll", "error")
				sleepCtx(work, abuseRetryPause)
			}
			continue
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		a.bytesLP.Add(n)
		a.tally("longpoll", strconv.Itoa(res.StatusCode))
		if res.StatusCode != http.StatusOK {
			sleepCtx(work, abuseRetryPause)
		}
	}
}

// historyRead asks for the newest page of room on a socket of its own
// with a small receive buffer and never reads the answer (until close).
func (a *abuser) historyRead(conns context.Context, room string) {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 101)},
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, abuseRcvBuf)
			})
			return errors.Join(err, serr)
		}}
	host := a.base[len("http://"):]
	c, err := d.DialContext(conns, "tcp", host)
	if err != nil {
		a.tally("history", "dial_error")
		return
	}
	if _, err := c.Write(historyRequest(host, room, a.heads[room]+1, wire.MaxPageLimit, a.token)); err != nil {
		a.tally("history", "write_error")
		c.Close()
		return
	}
	a.historySent.Add(1)
	a.mu.Lock()
	a.raw = append(a.raw, c)
	a.mu.Unlock()
}

// historyRequest is the raw GET of one history page.
func historyRequest(host, room string, before int64, limit int, token string) []byte {
	return fmt.Appendf(nil, "GET /api/rooms/%s/messages?before=%d&limit=%d HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
		room, before, limit, host, token)
}

// readHistoryAnswers reads, once the abuse is over, what each history
// read's socket holds, for at most wait, and counts the answers.
func (a *abuser) readHistoryAnswers(wait time.Duration) {
	a.mu.Lock()
	raw := a.raw
	a.raw = nil
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range raw {
		wg.Go(func() {
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(wait))
			head := make([]byte, 0, 4096)
			var tail []byte
			var total int64
			buf := make([]byte, 64<<10)
			timedOut := false
			for {
				n, err := c.Read(buf)
				total += int64(n)
				if len(head) < cap(head) {
					head = append(head, buf[:min(n, cap(head)-len(head))]...)
				}
				if n > 0 {
					tail = append(tail[:0], buf[max(0, n-8):n]...)
				}
				if err != nil {
					var ne net.Error
					timedOut = errors.As(err, &ne) && ne.Timeout()
					break
				}
			}
			ans := parseRawAnswer(head, total, tail)
			a.bytesHist.Add(total)
			a.tally("history", ans.status)
			switch {
			case ans.status == "none" || ans.complete:
			case timedOut:
				a.tally("history", "unfinished")
			default:
				a.tally("history", "cut")
			}
		})
	}
	wg.Wait()
}

// rawAnswer is what an HTTP/1.1 answer read whole (or cut) says.
type rawAnswer struct {
	status   string // "200", "429", …; "none" when nothing came
	complete bool   // the body arrived to its last byte
}

// parseRawAnswer reads an answer from its first bytes (head, its headers
// within), its length and its last bytes: complete when a chunked body
// ends with its last chunk or a Content-Length body arrived whole.
func parseRawAnswer(head []byte, total int64, tail []byte) rawAnswer {
	line, _, ok := bytes.Cut(head, []byte("\r\n"))
	fields := bytes.Fields(line)
	if !ok || len(fields) < 2 || !bytes.HasPrefix(fields[0], []byte("HTTP/")) {
		if total == 0 {
			return rawAnswer{status: "none"}
		}
		return rawAnswer{status: "unreadable"}
	}
	ans := rawAnswer{status: string(fields[1])}
	headers, _, ok := bytes.Cut(head, []byte("\r\n\r\n"))
	if !ok {
		return ans
	}
	bodyLen := total - int64(len(headers)+4)
	for h := range bytes.SplitSeq(headers, []byte("\r\n")) {
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch string(bytes.ToLower(name)) {
		case "content-length":
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil {
				ans.complete = bodyLen == n
			}
		case "transfer-encoding":
			if bytes.EqualFold(value, []byte("chunked")) {
				ans.complete = bytes.HasSuffix(tail, []byte("0\r\n\r\n"))
			}
		}
	}
	return ans
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
