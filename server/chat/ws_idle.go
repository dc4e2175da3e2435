//go:build !wasm

package chat

import (
	"context"
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
	ctx, cancel := context.WithTimeout(c.ctx, cfg.PongTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if err != nil {
		if c.ctx.Err() == nil {
			c.hub.log.Debug("dropping a silent socket that answered no ping", "session", c.session, "err", err)
			c.drop()
		}
		return
	}
	t.Reset(cfg.IdleTimeout)
}
