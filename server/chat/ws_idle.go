//go:build !wasm

package chat

import (
	"context"
	"io"
	"math"
	"time"
)

// A session that sent hello and then nothing would live until its token
// expires. Clients ping at the application level every heartbeat while
// their page runs; a background tab's timers are throttled and may send
// nothing for a minute, but the browser still answers WebSocket pings on
// its own. So a session silent for IdleTimeout gets a protocol ping, and a
// peer that does not answer within PongTimeout is dropped. A peer that
// answers stays: what it costs is bounded by MaxUserSockets.

// watchIdle starts watching the session for silence, once hello is
// handled; it runs on the session's serve goroutine.
func (c *wsConn) watchIdle() {
	if c.lastInput.Load() == 0 {
		c.lastInput.Store(time.Now().UnixNano())
	}
	// Armed only once stored, so that checkIdle always finds it.
	t := time.AfterFunc(math.MaxInt64, c.checkIdle)
	c.idle.Store(t)
	t.Reset(c.hub.cfg.IdleTimeout)
}

// checkIdle runs on the idle timer's goroutine. A session that sent a
// frame within IdleTimeout is checked again IdleTimeout after that frame;
// a silent one is pinged, and dropped (1006: a peer that answers no ping
// would answer no close frame either) when no pong comes within
// PongTimeout. The pong is read by the session's reader, which the
// poller wakes when it arrives.
func (c *wsConn) checkIdle() {
	cfg := c.hub.cfg
	t := c.idle.Load()
	if c.ctx.Err() != nil || c.closing.Load() {
		return
	}
	silent := time.Since(time.Unix(0, c.lastInput.Load()))
	if silent < cfg.IdleTimeout {
		t.Reset(cfg.IdleTimeout - silent)
		return
	}
	// The pong reaches the library's Ping when a reader is in the library
	// then; else takePongs takes it, tells ponged and ends the wait.
	ctx, cancel := context.WithTimeout(c.ctx, cfg.PongTimeout)
	c.ponged.Store(false)
	c.pongWait.Store(&cancel)
	err := c.ws.Ping(ctx)
	c.pongWait.Store(nil)
	cancel()
	if err != nil && !c.ponged.Load() {
		if c.ctx.Err() == nil {
			c.hub.log.Debug("dropping a silent socket that answered no ping", "session", c.session, "err", err)
			c.drop()
		}
		return
	}
	t.Reset(cfg.IdleTimeout)
}

// maxPongs is how many bytes of pongs takePongs takes at once: a pong of
// the server's pings is a few bytes (6 and the ping's counter).
const maxPongs = 256

// pongGrace is how long after a pong takePongs ends the ping's wait. Not
// at once: the library may still be leaving its write of the ping (the
// peer answered it, so the bytes are out), and a context that ends before
// it has left closes the socket.
const pongGrace = 100 * time.Millisecond

// takePongs runs on the serve goroutine when input woke an idle session
// while a ping waits. When the input is nothing but whole pongs, it takes
// them from the socket itself and tells checkIdle, and the session goes
// back to waiting on the poller; else (a frame, part of one, the end) it
// leaves everything for the library's reader. Without it the pong would
// wake a reader that then stays parked in the library, with its deeper
// stack, until the next frame: for every idle socket that answers pings.
// The library's read buffer is empty and no read of the library's runs
// then; the close handshake reads under inputMu, which it holds.
func (c *wsConn) takePongs() bool {
	if c.pongWait.Load() == nil || c.closing.Load() {
		return false
	}
	c.inputMu.Lock()
	defer c.inputMu.Unlock()
	if c.input.buffered() {
		return false
	}
	var b [maxPongs]byte
	n := peekInput(c.input.conn, b[:])
	if n == 0 || n == len(b) || !wholePongs(b[:n]) {
		return false
	}
	if _, err := io.ReadFull(c.input.conn, b[:n]); err != nil {
		return false // the reader finds the error
	}
	c.ponged.Store(true)
	if end := c.pongWait.Swap(nil); end != nil {
		time.AfterFunc(pongGrace, *end)
	}
	return true
}

// wholePongs reports whether p is one or more whole pong frames of a
// client (masked, final, no extension bits) and nothing else.
func wholePongs(p []byte) bool {
	for len(p) > 0 {
		if len(p) < 2 || p[0] != 0x8a || p[1]&0x80 == 0 {
			return false
		}
		size := 2 + 4 + int(p[1]&0x7f)
		if p[1]&0x7f > 125 || len(p) < size {
			return false
		}
		p = p[size:]
	}
	return true
}
