//go:build !wasm

package chat

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"tether/conn/wire"
)

// Limits bound what one token holder, and everyone together, may cost a
// server on the open internet: each is sized so that a normal client never
// meets it. Zero values take the defaults; operators tune them for the
// memory and file descriptors of their machine.
type Limits struct {
	// SubscribeRate and SubscribeBurst limit the rooms one socket
	// subscribes, the rooms of hello's resume included: each costs a
	// replay of up to 500 messages. Past them a subscribe gets error
	// rate_limited with retry_after_ms and no replay. The burst covers an
	// inbox resuming every room it shows (default 100 a burst, 10/s).
	SubscribeRate  rate.Limit
	SubscribeBurst int
	// ReplayRate and ReplayBurst limit the messages each user is replayed
	// on subscribing, over all of the user's sockets: a subscribe costs its
	// replay, up to 500 messages of up to 4,000 characters each, so a cheap
	// frame must not buy an expensive answer without end. Past the budget a
	// subscribe is answered recovered=false with the part of the replay the
	// budget covers (perhaps none), and the client pages the rest over HTTP,
	// under the read budgets (default 500 messages/s, bursts of 5,000: an
	// inbox of 50 rooms, each 100 messages behind).
	ReplayRate  rate.Limit
	ReplayBurst int
	// BulkRate and BulkBurst pace, in bytes, what each user is sent in
	// bulk over all of the user's sockets and requests: replays and pages
	// of messages (default 2 MiB/s, bursts of 512 KiB). They do not
	// refuse; the answer goes a chunk at a time as the budget allows. The
	// budgets above bound how much one user may ask for; this one spreads
	// its cost: a page of 500 long messages is some 6 MB of JSON, which
	// encoded at once kept the server's core from everybody else's
	// messages for tens of milliseconds. What a normal client reads (a
	// page of 50, a resume of a few rooms) fits in the burst.
	BulkRate  rate.Limit
	BulkBurst int
	// MaxUserSockets is how many sockets one user may hold (a therapist
	// with many tabs open): the next one is closed after hello with 4429
	// and RefuseRetryAfter (default 20).
	MaxUserSockets int
	// MaxSockets is how many sockets the server holds in all; past it an
	// upgrade answers 503 with Retry-After (default 50,000, or the
	// process's open-file limit less socketFileReserve when that is lower:
	// a server out of descriptors cannot even accept the connection that
	// would be refused, and net/http then retries accept once a second
	// while the listen queue fills, which is how a reconnect storm
	// collapsed at 20,000 descriptors in the benchmarks).
	MaxSockets int
	// MaxUserLongPolls is how many long-polls (since with wait) one user
	// may hold at once; past it 429 with Retry-After (default 10: a
	// browser holds at most 6 requests to one host over HTTP/1.1).
	MaxUserLongPolls int
	// MaxLongPolls is how many long-polls the server holds in all; past it
	// 503 with Retry-After (default 10,000).
	MaxLongPolls int
	// MaxUserPages is how many history pages (before=) one user may have
	// in flight at once; past it 429 with Retry-After (default 2). A page
	// holds up to 500 messages of 4,000 characters, about 6 MiB, in memory
	// until the peer has read it: the read budget alone would let one user
	// hold dozens of them by never reading. The app reads one page at a time.
	MaxUserPages int
	// MaxPages is how many history pages the server has in flight in all;
	// past it 503 with Retry-After (default 64, about 400 MiB at worst).
	MaxPages int
	// RefuseRetryAfter is the wait announced when a cap refuses a socket
	// or a long-poll (default 10 s): a place frees when another closes,
	// which no clock tells.
	RefuseRetryAfter time.Duration
	// ReadRate and ReadBurst limit each user's history pages (before=)
	// and room lists (GET /api/rooms): 429 with Retry-After past them
	// (default 5/s, bursts of 50: an inbox listing its rooms and paging a
	// few rooms back, from a few tabs, stays well within).
	ReadRate  rate.Limit
	ReadBurst int
	// PollRate and PollBurst limit each user's reads with since= (polls
	// and the pages of a gap), counted apart from ReadRate: a poller asks
	// again at once after each answer, so the budget is one answer per
	// message its rooms can receive (default 20/s, bursts of 100).
	PollRate  rate.Limit
	PollBurst int
	// IdleTimeout is how long a socket may send no frame before the server
	// pings it at the WebSocket level (default twice the heartbeat, 30 s);
	// browsers answer those pings even in a background tab.
	IdleTimeout time.Duration
	// PongTimeout is how long the server waits for the answer to that ping
	// before it drops the socket (1006; default 10 s).
	PongTimeout time.Duration
	// RefusalHold is how long, at most, a request refused for its user's
	// budget or caps (429) waits before its answer goes, up to the
	// Retry-After it is told (default 1 s), less up to half of that at
	// random (refusals that came together go apart); a user with more than
	// 10 refusals held at once has each held longer in proportion, up to
	// 30 s, so that its refusals come back at about 10 per hold however
	// many it sends. A client that honours
	// Retry-After loses nothing by it; one that asks again at once gets
	// its refusals at that pace and costs a parked goroutine on a
	// connection it holds anyway, not a stream of requests to parse and
	// refuse ahead of everybody else's messages.
	RefusalHold time.Duration
	// MaxHeldRefusals bounds the refusals held at once, over all users;
	// past it a refusal goes at once (default 10,000).
	MaxHeldRefusals int
	// LimiterSweep is how often the per-user rate limiters are swept: a
	// limiter whose buckets are all full is forgotten, which loses nothing
	// since a new one starts full (default 1 min).
	LimiterSweep time.Duration
}

func (l *Limits) setDefaults(heartbeat time.Duration) {
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defRate := func(v *rate.Limit, d rate.Limit) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defRate(&l.SubscribeRate, 10)
	defInt(&l.SubscribeBurst, 100)
	defRate(&l.ReplayRate, 500)
	defInt(&l.ReplayBurst, 5000)
	defRate(&l.BulkRate, 2<<20)
	defInt(&l.BulkBurst, 512<<10)
	defInt(&l.MaxUserSockets, 20)
	defInt(&l.MaxSockets, socketCap(openFileLimit()))
	defInt(&l.MaxUserLongPolls, 10)
	defInt(&l.MaxLongPolls, 10_000)
	defInt(&l.MaxUserPages, 2)
	defInt(&l.MaxPages, 64)
	defDur(&l.RefuseRetryAfter, 10*time.Second)
	defRate(&l.ReadRate, 5)
	defInt(&l.ReadBurst, 50)
	defRate(&l.PollRate, 20)
	defInt(&l.PollBurst, 100)
	defDur(&l.IdleTimeout, 2*heartbeat)
	defDur(&l.PongTimeout, 10*time.Second)
	defDur(&l.LimiterSweep, time.Minute)
	defDur(&l.RefusalHold, time.Second)
	defInt(&l.MaxHeldRefusals, 10_000)
}

// userLimiters are the token buckets of one user.
type userLimiters struct {
	send, read, poll, replay *rate.Limiter
	bulk                     *rate.Limiter // bytes, waited for (pace)
	// replaying lets one of the user's replays run at a time: a user who
	// subscribes on many sockets at once gets a core's worth of work
	// done one room after another, not all of it in parallel ahead of
	// everybody else's messages.
	replaying sync.Mutex
	// refusalsHeld counts the user's refusals in holdRefusal now.
	refusalsHeld atomic.Int64
}

// bucket names one of a user's token buckets.
type bucket int

const (
	bucketSend bucket = iota
	bucketRead
	bucketPoll
)

// allow takes one token from the user's bucket; when it is empty it says
// how long to wait. It runs on any request's goroutine.
func (h *Hub) allow(userID string, b bucket) (ok bool, retryAfter time.Duration) {
	now := time.Now()
	ul := h.userLimiters(userID, now)
	l := ul.send
	switch b {
	case bucketRead:
		l = ul.read
	case bucketPoll:
		l = ul.poll
	}
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// userLimiters returns the buckets of userID, made full when it has none.
func (h *Hub) userLimiters(userID string, now time.Time) *userLimiters {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweepLimitersLocked(now)
	ul := h.limiters[userID]
	if ul == nil {
		ul = &userLimiters{
			send:   rate.NewLimiter(h.cfg.SendRate, h.cfg.SendBurst),
			read:   rate.NewLimiter(h.cfg.ReadRate, h.cfg.ReadBurst),
			poll:   rate.NewLimiter(h.cfg.PollRate, h.cfg.PollBurst),
			replay: rate.NewLimiter(h.cfg.ReplayRate, h.cfg.ReplayBurst),
			bulk:   rate.NewLimiter(h.cfg.BulkRate, h.cfg.BulkBurst),
		}
		h.limiters[userID] = ul
	}
	return ul
}

// holdRefusal keeps a refused request (429) of userID waiting before its
// answer goes (see Limits.RefusalHold): for the Retry-After it would be
// told (whole seconds, at least one), at most RefusalHold; longer for a
// user who has more than refusalsHeldFreely held at once, in proportion,
// up to maxRefusalHold; and less up to half of it at random. It says how
// long it waited. The wait ends early when the client goes or the server
// drains.
func (h *Hub) holdRefusal(r *http.Request, userID string, wait time.Duration) time.Duration {
	ul := h.userLimiters(userID, time.Now())
	n := ul.refusalsHeld.Add(1)
	defer ul.refusalsHeld.Add(-1)
	d := refusalHold(min(max(time.Second, wait.Round(time.Second)), h.cfg.RefusalHold), n)
	// Refusals that came together (an abuser's hundreds of requests at
	// once) must not go together, or they come back together, a burst at
	// each return.
	d = d/2 + rand.N(d/2+1)
	if h.heldRefusals.Add(1) > int64(h.cfg.MaxHeldRefusals) {
		h.heldRefusals.Add(-1)
		return 0
	}
	defer h.heldRefusals.Add(-1)
	h.metrics.RefusalsHeld.Inc()
	defer h.metrics.RefusalsHeld.Dec()
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-h.drained:
	}
	return time.Since(start)
}

// refusalHold is how long a refusal is held, at most, when its user has n
// held (this one included) and a lone one would be held base. A user who
// asks again at once without end, from hundreds of connections at a time,
// gets each refusal back later the more are held: about
// refusalsHeldFreely answers per hold, however many it sends, rather than
// hundreds a second to parse and refuse.
func refusalHold(base time.Duration, n int64) time.Duration {
	if n <= refusalsHeldFreely {
		return base
	}
	return min(maxRefusalHold, time.Duration(float64(base)*float64(n)/refusalsHeldFreely))
}

// refusalsHeldFreely is how many refusals of one user are held for the
// plain RefusalHold at once; maxRefusalHold bounds the longer holds of a
// user past it (well within the minute after which proxies drop an idle
// request).
const (
	refusalsHeldFreely = 10
	maxRefusalHold     = 30 * time.Second
)

// lockReplay waits until none of the user's other replays runs and
// returns the unlock.
func (h *Hub) lockReplay(userID string) (unlock func()) {
	ul := h.userLimiters(userID, time.Now())
	ul.replaying.Lock()
	return ul.replaying.Unlock
}

// replayAvailable is how many messages, up to most, the user's replay
// budget holds now; takeReplay takes them.
func (h *Hub) replayAvailable(userID string, most int) int {
	now := time.Now()
	return max(0, min(most, int(h.userLimiters(userID, now).replay.TokensAt(now))))
}

// takeReplay takes up to want messages from the user's replay budget and
// says how many it took (0 when the budget is spent). It runs on the
// subscribing socket's reader goroutine.
func (h *Hub) takeReplay(userID string, want int) int {
	now := time.Now()
	l := h.userLimiters(userID, now).replay
	n := min(want, int(l.TokensAt(now)))
	if n <= 0 || !l.AllowN(now, n) {
		return 0
	}
	return n
}

// pace waits until the user's bulk budget holds n bytes (at most a burst)
// and takes them; it fails only when ctx ends first. It runs on the
// goroutine of the answer being sent, so one user's bulk waits for that
// user's budget alone.
func (h *Hub) pace(ctx context.Context, userID string, n int) error {
	l := h.userLimiters(userID, time.Now()).bulk
	n = min(n, l.Burst())
	if l.AllowN(time.Now(), n) {
		return nil
	}
	h.metrics.BulkWaiting.Inc()
	defer h.metrics.BulkWaiting.Dec()
	return l.WaitN(ctx, n)
}

// bulkChunk is how many bytes of a bulk answer are encoded and then paced
// at a time: small enough that encoding one takes a fraction of a
// millisecond, large enough that pacing costs few timers.
const bulkChunk = 32 << 10

// allowSend takes one message from the user's send budget.
func (h *Hub) allowSend(userID string) (bool, time.Duration) { return h.allow(userID, bucketSend) }

// sweepLimitersLocked forgets, at most once per LimiterSweep, the users
// whose buckets are all full and who have no refusal held: they have been
// idle long enough to refill, and a new limiter would start as full (and
// count no refusal held). h.mu is held; the sweep walks
// every user, once a minute by default. A request that took a limiter
// just before it was forgotten spends a token nobody keeps: at worst one
// extra token for that user, once a sweep.
func (h *Hub) sweepLimitersLocked(now time.Time) {
	if now.Sub(h.swept) < h.cfg.LimiterSweep {
		return
	}
	h.swept = now
	full := func(l *rate.Limiter) bool { return l.TokensAt(now) >= float64(l.Burst()) }
	for id, ul := range h.limiters {
		if full(ul.send) && full(ul.read) && full(ul.poll) && full(ul.replay) && full(ul.bulk) && ul.refusalsHeld.Load() == 0 {
			delete(h.limiters, id)
		}
	}
}

// Limiters is how many users have rate limiters now (for tests and
// operators: it must not grow with every user ever seen).
func (h *Hub) Limiters() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.limiters)
}

// counts are the sockets and long-polls held now, per user and in total,
// guarded by the hub's mu. A user's entry goes when its count reaches 0.
type counts struct {
	sockets     int // upgrades accepted and not yet ended
	userSockets map[string]int
	polls       held
	pages       held
}

func newCounts() counts {
	return counts{userSockets: map[string]int{}, polls: held{byUser: map[string]int{}}, pages: held{byUser: map[string]int{}}}
}

// refusal says why a cap refused a socket or a poll: the HTTP status (429
// for the user's cap, 503 for the server's), or 0 when it was taken.
type refusal int

// socketFileReserve are the descriptors kept from sockets for everything
// else: the listeners, the store's files, requests and long-polls coming
// in, and the sockets refused while the server is full.
const socketFileReserve = 200

// socketCap is MaxSockets' default under an open-file limit of files (0:
// unknown).
func socketCap(files int) int {
	const most = 50_000
	if files <= 0 || files-socketFileReserve >= most {
		return most
	}
	return max(files-socketFileReserve, files/2)
}

// takeSocket reserves a place for an upgrade before it is accepted; false
// past MaxSockets. giveSocket frees it when the session ends.
func (h *Hub) takeSocket() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts.sockets >= h.cfg.MaxSockets {
		return false
	}
	h.counts.sockets++
	return true
}

func (h *Hub) giveSocket() {
	h.mu.Lock()
	h.counts.sockets--
	h.mu.Unlock()
}

// takeUserSocket counts a welcomed socket of userID; false past
// MaxUserSockets. giveUserSocket uncounts it.
func (h *Hub) takeUserSocket(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts.userSockets[userID] >= h.cfg.MaxUserSockets {
		return false
	}
	h.counts.userSockets[userID]++
	return true
}

func (h *Hub) giveUserSocket(userID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts.userSockets[userID]--; h.counts.userSockets[userID] <= 0 {
		delete(h.counts.userSockets, userID)
	}
}

// held counts what users hold at once (long-polls, history pages), per
// user and in total, under the hub's mu. A user's entry goes at 0.
type held struct {
	total  int
	byUser map[string]int
}

// take counts one more of userID, or says which cap refuses it: 429 for
// the user's, 503 for the server's.
func (c *held) take(userID string, maxUser, maxTotal int) refusal {
	switch {
	case c.byUser[userID] >= maxUser:
		return http.StatusTooManyRequests
	case c.total >= maxTotal:
		return http.StatusServiceUnavailable
	}
	c.byUser[userID]++
	c.total++
	return 0
}

func (c *held) give(userID string) {
	c.total--
	if c.byUser[userID]--; c.byUser[userID] <= 0 {
		delete(c.byUser, userID)
	}
}

// giveHeld uncounts one of userID in c, under the hub's mu, once the answer
// that takeHeld counted is written or given up.
func (h *Hub) giveHeld(c *held, userID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.give(userID)
}

// retryAfterHeader sets Retry-After to d in whole seconds, at least 1.
func retryAfterHeader(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}

// refuseRetryAfter is the close reason of a socket refused by a cap.
func (h *Hub) refuseRetryAfter() string {
	return wire.RetryAfter{RetryAfterMS: h.cfg.RefuseRetryAfter.Milliseconds()}.Reason()
}

// subscribeBudget is a socket's token bucket for subscribes, kept by its
// reader goroutine alone: no lock, and two words per socket rather than a
// rate.Limiter.
type subscribeBudget struct {
	tokens float64
	at     time.Time
}

// take takes one subscribe at now; when none is left it says how long to
// wait for the next.
func (b *subscribeBudget) take(now time.Time, r rate.Limit, burst int) (bool, time.Duration) {
	if b.at.IsZero() {
		b.tokens = float64(burst)
	} else {
		b.tokens = min(float64(burst), b.tokens+now.Sub(b.at).Seconds()*float64(r))
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / float64(r) * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

// WriteTimeout is how long the peer may take to accept each piece of an
// answer, on a socket or over HTTP: a peer that stops reading is cut off
// then, and the answer it held in memory is freed.
func (h *Hub) WriteTimeout() time.Duration { return h.cfg.WriteTimeout }
