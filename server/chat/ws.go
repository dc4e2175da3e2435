//go:build !wasm

package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"tether/conn/wire"
	"tether/server/auth"
)

// wsConn is one WebSocket session. Its frames are read and handled one
// after the other, on a goroutine started when input arrives (see serve); a
// writer goroutine, started when a frame is queued and gone when the queue
// is empty, writes everything queued, so no other goroutine ever waits on
// the peer. An idle session thus costs one goroutine with the smallest
// stack, parked on the poller, and no queue: the memory of a connection
// decides how many one server holds.
type wsConn struct {
	hub     *Hub
	ws      *websocket.Conn
	input   hijacked   // the socket and its read buffer, to wait for input
	inputMu sync.Mutex // held by close's handshake, which reads the buffer
	session string
	ctx     context.Context
	cancel  context.CancelFunc
	expiry  *time.Timer // closes the session when the token expires

	// qmu guards the outgoing queue and the writer's life.
	qmu     sync.Mutex
	queue   [][]byte // frames for the writer, oldest first; at most SendQueue
	writing bool     // a writer goroutine runs
	// acking is the message this session's onSend waits to acknowledge
	// (room and client_id); its echo waits in the queue for the ack, so
	// the two leave in one write (see pushHeld).
	acking   ackKey
	ended    bool          // the session is over: no writer starts again
	space    chan struct{} // closed when the writer takes frames, for enqueueWait
	writerWG sync.WaitGroup

	claims *auth.Claims // set by hello and auth, read by the reader only
	// sid is the claims' session (contract v2), for CloseSessions on
	// other goroutines; "" for a token of no session.
	sid atomic.Pointer[string]
	// helloTimer closes a session that sends no hello in time; hello stops
	// it, whatever else waits in the same burst of input.
	helloTimer *time.Timer
	subs       map[string]*subscription

	closeOnce sync.Once
	closing   atomic.Bool // a close is under way or done: slow starts none
	badFrames int
	limited   int
	// held is a send refused for now (rate limited, or not stored): the
	// socket's later sends are refused until it comes again, so that none
	// is stored ahead of it. heldRetry is when it may come; heldUntil ends
	// the hold if it never does (the user discarded it). Reader only.
	held                 ackKey
	heldRetry, heldUntil time.Time

	user       string                             // the user counted for MaxUserSockets, once welcomed
	subscribes subscribeBudget                    // reader only
	lastInput  atomic.Int64                       // unix nanoseconds of the last frame read
	idle       atomic.Pointer[time.Timer]         // pings the peer when it goes silent (see ws_idle.go)
	pongWait   atomic.Pointer[context.CancelFunc] // ends the wait of a protocol ping
	ponged     atomic.Bool                        // takePongs took a pong since the ping
}

// ServeWS upgrades GET /api/ws to a protocol v1 session.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.DrainWindow.Seconds()+0.5)))
		writeError(w, h.metrics, http.StatusServiceUnavailable, wire.CodeUnavailable, "the server is restarting")
		return
	}
	if h.faults.RefuseWebSocket() {
		w.Header().Set("Retry-After", "1")
		writeError(w, h.metrics, http.StatusServiceUnavailable, wire.CodeUnavailable, "WebSocket is refused (test fault)")
		return
	}
	if !h.takeSocket() {
		retryAfterHeader(w, h.cfg.RefuseRetryAfter)
		writeError(w, h.metrics, http.StatusServiceUnavailable, wire.CodeUnavailable, "the server holds all the connections it can")
		return
	}
	up := &upgrade{ResponseWriter: w}
	ws, err := websocket.Accept(up, r, &websocket.AcceptOptions{
		Subprotocols:   []string{wire.Subprotocol},
		OriginPatterns: h.cfg.AllowedOrigins,
	})
	if err != nil {
		// Accept has answered (403 for a foreign Origin, 400 for a bad upgrade).
		h.log.Info("websocket upgrade refused", "err", err, "origin", r.Header.Get("Origin"))
		h.giveSocket()
		return
	}
	if ws.Subprotocol() != wire.Subprotocol {
		ws.Close(websocket.StatusCode(wire.ClosePolicy), "subprotocol "+wire.Subprotocol+" required")
		h.giveSocket()
		return
	}
	ws.SetReadLimit(wire.MaxFrameBytes)
	if err := up.accepted(); err != nil {
		ws.CloseNow()
		h.giveSocket()
		return
	}

	ctx, cancel := context.WithCancel(context.Background())
	c := &wsConn{
		hub: h, ws: ws, input: up.hijacked, session: newID(),
		ctx: ctx, cancel: cancel, subs: map[string]*subscription{},
	}
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	h.metrics.OpenSockets.Inc()
	// The session goes on in a goroutine of its own and the handler
	// returns: net/http then frees what it kept for the request (its
	// goroutine's stack, the request, the response's buffers).
	go c.serve()
}

// serve runs the session until it ends, then unregisters it. It waits
// for input on the poller (waitReadable) and hands what arrives to a
// pooled goroutine (tasks), which reads and handles frames while input is
// buffered and then goes back to the pool: the deep stacks of decoding, the
// token check and the store are the pool's, not every idle session's.
func (c *wsConn) serve() {
	h := c.hub
	defer func() {
		for _, s := range c.subs {
			h.removeSub(s)
		}
		// The places first: a caller that sees the socket gone finds
		// them free.
		if c.user != "" {
			h.giveUserSocket(c.user)
		}
		h.giveSocket()
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		h.metrics.OpenSockets.Dec()
	}()
	// A timer, not a deadline on the read: the library drops the socket
	// without a close frame when a read's context ends, and the client must
	// see 1008.
	c.helloTimer = time.AfterFunc(h.cfg.HelloTimeout, func() {
		c.close(wire.ClosePolicy, "no hello within "+h.cfg.HelloTimeout.String())
	})
	defer c.helloTimer.Stop()
	burst := make(chan bool)
	for {
		if !c.inputBuffered() {
			waitReadable(c.input.conn)
			if c.takePongs() {
				continue // still idle: no reader parked in the library
			}
		}
		spawn(func() { burst <- c.readBurst() })
		if !<-burst {
			break
		}
		if c.claims != nil && c.idle.Load() == nil {
			c.watchIdle()
		}
	}
	c.cancel()
	if c.expiry != nil {
		c.expiry.Stop()
	}
	if t := c.idle.Load(); t != nil {
		t.Stop()
	}
	c.qmu.Lock()
	c.ended = true
	c.queue = nil
	c.qmu.Unlock()
	c.writerWG.Wait()
}

// readBurst reads and handles frames until no input is buffered. It
// returns false when the session is over.
func (c *wsConn) readBurst() bool {
	for {
		f, ok := c.readFrame()
		if !ok || !c.handle(f) {
			return false
		}
		if !c.inputBuffered() {
			return true
		}
	}
}

// hold refuses the socket's later sends until the send of key, refused
// for wait, comes again: the client sends in order, one refused message
// holds back the ones after it, and a message it sent right behind must
// not be stored first because a token came in between. Ten seconds past
// its wait, a hold nobody ends by sending again (the user discarded the
// message) ends by itself.
func (c *wsConn) hold(key ackKey, wait time.Duration) {
	now := time.Now()
	c.held, c.heldRetry, c.heldUntil = key, now.Add(wait), now.Add(wait+10*time.Second)
}

// slow closes a session whose peer reads too slowly (1008). Every write
// that finds the queue full calls it, from the store's writer goroutine or
// the session's reader; the first starts the close in a goroutine of its
// own, the others return at once: no goroutine per failed write.
func (c *wsConn) slow() {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.hub.metrics.SlowDisconnects.Inc()
	go c.close(wire.ClosePolicy, "too slow to read its messages")
}

func (c *wsConn) sendError(code, message, ref string, retryAfter time.Duration) {
	c.hub.metrics.Errors.WithLabelValues(code).Inc()
	c.send(&wire.ErrorFrame{Code: code, Message: message, Ref: ref, RetryAfterMS: retryAfter.Milliseconds()})
}

// close ends the session with a close frame; it may wait for the peer's
// answer, so callers that must not block run it in a goroutine.
func (c *wsConn) close(code wire.CloseCode, reason string) {
	c.closing.Store(true)
	c.closeOnce.Do(func() {
		c.hub.metrics.Closes.WithLabelValues(strconv.Itoa(int(code))).Inc()
		// The close handshake reads the peer's answer through the read
		// buffer, which inputBuffered looks at.
		c.inputMu.Lock()
		defer c.inputMu.Unlock()
		c.ws.Close(websocket.StatusCode(code), reason)
	})
}

// drop cuts the connection without a close frame.
func (c *wsConn) drop() {
	c.closing.Store(true)
	c.closeOnce.Do(func() {
		c.hub.metrics.Closes.WithLabelValues(strconv.Itoa(int(wire.CloseAbnormal))).Inc()
		c.ws.CloseNow()
	})
}

// inputBuffered reports whether input waits in the read buffer. The
// library reads the buffer only in Read, which the session's own goroutines
// call one at a time, and in the close handshake, which close runs under
// inputMu.
func (c *wsConn) inputBuffered() bool {
	c.inputMu.Lock()
	defer c.inputMu.Unlock()
	return c.input.buffered()
}

// handle answers one frame: first the hello, then everything else. It
// returns false when the session is over.
func (c *wsConn) handle(f wire.Frame) bool {
	h := c.hub
	if c.claims == nil {
		hello, isHello := f.(*wire.Hello)
		if !isHello {
			c.sendError(wire.CodeHelloRequired, "the first frame must be hello", "", 0)
			return true
		}
		return c.onHello(hello)
	}
	switch f := f.(type) {
	case *wire.Subscribe:
		c.subscribe(f.Room, f.Since)
	case *wire.Unsubscribe:
		if s := c.subs[f.Room]; s != nil {
			delete(c.subs, f.Room)
			h.removeSub(s)
		}
	case *wire.Send:
		c.onSend(f)
	case *wire.Ping:
		if !h.faults.MutePongs() {
			c.send(&wire.Pong{ID: f.ID, ServerTime: time.Now().UnixMilli()})
		}
	case *wire.Auth:
		c.onAuth(f)
	case *wire.Hello:
		c.sendError(wire.CodeBadFrame, "hello was already received", "", 0)
	default:
		c.sendError(wire.CodeBadFrame, f.FrameType()+" is not a client frame", "", 0)
	}
	return true
}

// readFrame reads and decodes one frame. Malformed frames are answered with
// an error frame and counted; ok is false when the connection is over. The
// read has no context to end it (closing the socket does): a context with a
// Done channel would cost a registration per read.
func (c *wsConn) readFrame() (wire.Frame, bool) {
	for {
		typ, r, err := c.ws.Reader(context.Background())
		if err != nil {
			return nil, false
		}
		// Read into a pooled buffer: one taken afresh per frame (the
		// library's Read) was a tenth of what the server allocated under
		// load. Decoding copies what it keeps.
		buf := frameBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r)
		data := buf.Bytes()
		if err != nil {
			frameBuffers.Put(buf)
			return nil, false
		}
		c.lastInput.Store(time.Now().UnixNano())
		if typ != websocket.MessageText {
			frameBuffers.Put(buf)
			c.badFrame(&wire.DecodeError{Code: wire.CodeBadFrame, Reason: "frames are JSON text, not binary"})
			continue
		}
		f, err := wire.Decode(data)
		frameBuffers.Put(buf)
		if err != nil {
			var de *wire.DecodeError
			if !errors.As(err, &de) {
				de = &wire.DecodeError{Code: wire.CodeBadFrame, Reason: err.Error()}
			}
			if !c.badFrame(de) {
				return nil, false
			}
			continue
		}
		return f, true
	}
}

// frameBuffers hold the frames being read. A frame is at most
// wire.MaxFrameBytes, so what the pool keeps is bounded by the sessions
// reading at once.
var frameBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// badFrame answers a refused frame. Bodies out of range are the user's
// mistake; malformed frames count towards a 1007 close.
func (c *wsConn) badFrame(de *wire.DecodeError) bool {
	c.sendError(de.Code, de.Reason, de.Ref, 0)
	if de.Code != wire.CodeBadFrame {
		return true
	}
	c.badFrames++
	if c.badFrames >= c.hub.cfg.MaxBadFrames {
		c.close(wire.CloseBadData, fmt.Sprintf("%d malformed frames", c.badFrames))
		return false
	}
	return true
}

// onHello checks the token, welcomes the user and resumes their rooms.
func (c *wsConn) onHello(hello *wire.Hello) bool {
	h := c.hub
	claims, err := h.auth.Verify(hello.Token)
	if err != nil {
		reason := "invalid token"
		if errors.Is(err, auth.ErrExpiredToken) {
			reason = "token expired"
		}
		h.metrics.Errors.WithLabelValues(wire.CodeUnauthorized).Inc()
		c.close(wire.CloseUnauthorized, reason)
		return false
	}
	if !h.takeUserSocket(claims.Subject) {
		h.metrics.Errors.WithLabelValues(wire.CodeRateLimited).Inc()
		c.close(wire.CloseRateLimited, h.refuseRetryAfter())
		return false
	}
	// Stopped here, not after the burst: a burst that goes on past the
	// hello timeout (a frame trickling in behind hello) must not end a
	// session that said hello in time.
	c.helloTimer.Stop()
	c.user = claims.Subject
	c.claims = claims
	c.send(&wire.Welcome{
		Session:     c.session,
		HeartbeatMS: h.cfg.Heartbeat.Milliseconds(),
		ServerTime:  time.Now().UnixMilli(),
		User:        claims.User(),
	})
	c.sid.Store(&claims.Sid)
	// The session ends with the token unless the client renews it on the
	// socket (auth) in time; otherwise it gets a new one and comes back.
	if exp := claims.Expiry(); !exp.IsZero() {
		c.expiry = time.AfterFunc(time.Until(exp), func() { c.close(wire.CloseUnauthorized, "token expired") })
	}
	rooms := make([]string, 0, len(hello.Resume))
	for room := range hello.Resume {
		rooms = append(rooms, room)
	}
	slices.Sort(rooms)
	for _, room := range rooms {
		c.subscribe(room, hello.Resume[room])
	}
	return true
}

// onAuth renews the session's token on the live socket (contract v2): a
// valid token of the same user moves the session's end to its expiry and
// is answered authed. Another user's token, or a bad one, is refused with an
// error and changes nothing: the socket lives on until its old token's end.
func (c *wsConn) onAuth(f *wire.Auth) {
	claims, err := c.hub.auth.Verify(f.Token)
	if err != nil {
		reason := "invalid token: the session stays as it was"
		if errors.Is(err, auth.ErrExpiredToken) {
			reason = "token expired: the session stays as it was"
		}
		c.sendError(wire.CodeUnauthorized, reason, "", 0)
		return
	}
	if claims.Subject != c.claims.Subject || claims.Role != c.claims.Role {
		c.sendError(wire.CodeUnauthorized, "the token is another user's: the session stays as it was", "", 0)
		return
	}
	c.claims = claims
	c.sid.Store(&claims.Sid)
	exp := claims.Expiry()
	if c.expiry != nil {
		c.expiry.Reset(time.Until(exp))
	}
	c.send(&wire.Authed{ExpiresAt: exp.UnixMilli()})
}

// onSend stores a message and acks it.
func (c *wsConn) onSend(f *wire.Send) {
	h := c.hub
	if !h.canAccess(c.ctx, c.claims, f.Room) {
		c.sendError(wire.CodeForbidden, "you are not a participant of "+f.Room, f.Room, 0)
		return
	}
	if h.cancelled(c.ctx, f.Room) {
		c.sendError(wire.CodeCancelled, cancelledMessage, f.ClientID, 0)
		return
	}
	key := ackKey{f.Room, f.ClientID}
	if !c.heldUntil.IsZero() {
		now := time.Now()
		if key != c.held && now.Before(c.heldUntil) {
			// At least a second: a client told 0 would ask again at once.
			c.sendError(wire.CodeRateLimited, "an earlier message of yours goes first; send this one after it", f.ClientID, max(time.Second, c.heldRetry.Sub(now)))
			return
		}
		c.held, c.heldRetry, c.heldUntil = ackKey{}, time.Time{}, time.Time{}
	}
	if ok, wait := h.allowSend(c.claims.Subject); !ok {
		c.limited++
		if c.limited >= 10 {
			c.close(wire.CloseRateLimited, wire.RetryAfter{RetryAfterMS: max(wait.Milliseconds(), 1000)}.Reason())
			return
		}
		c.hold(key, wait)
		c.sendError(wire.CodeRateLimited, "too many messages; wait before sending again", f.ClientID, wait)
		return
	}
	c.limited = 0
	// The echo of this message waits for its ack (see pushHeld); deferred,
	// doneAcking runs after the ack or error below is queued.
	c.startAcking(key)
	defer c.doneAcking()
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	msg, _, err := h.appendMessage(ctx, c.claims.User(), f.Room, f.ClientID, f.Body)
	switch {
	case errors.Is(err, errDraining):
		c.sendError(wire.CodeUnavailable, "the server is restarting; send again after reconnecting", f.ClientID, h.cfg.DrainWindow)
		return
	case err != nil:
		if c.ctx.Err() == nil {
			h.log.Error("failed to store a message", "room", f.Room, "err", err)
			c.hold(key, time.Second)
			c.sendError(wire.CodeInternal, "the message was not stored; send it again", f.ClientID, time.Second)
		}
		return
	}
	h.metrics.Acks.Inc()
	c.send(&wire.Ack{Room: msg.Room, ClientID: msg.ClientID, Seq: msg.Seq, SentAt: msg.SentAt})
}
