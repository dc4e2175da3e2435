//go:build !wasm

package main

// The storm's clients: each on a goroutine of its own, connecting,
// retrying on tether's client's backoff and checking every frame.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"tether/conn"
	"tether/conn/wire"
)

// count adds one to key in *m, under countsMu.
func (s *storm) count(m *map[string]int64, key string) {
	s.countsMu.Lock()
	defer s.countsMu.Unlock()
	if *m == nil {
		*m = map[string]int64{}
	}
	(*m)[key]++
}

// failureCause names why an attempt failed, in a few words.
func failureCause(err error) string {
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return "closed " + strconv.Itoa(int(ce.Code))
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EMFILE):
		return "too many open files (harness)"
	case errors.Is(err, errRefused):
		return "upgrade refused"
	}
	// The cause is at the end of the chain: "…: connect: …".
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// run is one client's life: its first connection (hello, subscribe, and
// for one member of each room the room's first message), then on every
// drop tether's client's backoff and a hello that resumes the room from the
// last seq received, until ctx ends.
func (s *storm) run(ctx context.Context, c *stormClient) {
	s.open <- struct{}{}
	ws, err := s.connect(ctx, c, false)
	<-s.open
	if err != nil {
		if ctx.Err() == nil {
			s.fail(fmt.Sprintf("client %d: %v", c.idx, err))
		}
		s.openFailed.Add(1)
		return
	}
	s.opened.Add(1)
	attempts := 0
	for {
		connectedAt := time.Now()
		err := s.read(ctx, c, ws)
		ws.CloseNow()
		if ctx.Err() != nil {
			return
		}
		if !s.killed.Load() {
			s.dropsBeforeKill.Add(1)
			s.fail(fmt.Sprintf("client %d dropped before the kill: %v", c.idx, err))
		}
		// The client counts its attempts afresh once a connection lasted.
		if time.Since(connectedAt) >= conn.DefaultStableAfter {
			attempts = 0
		}
		wait := s.retryAfter(err)
		for {
			attempts++
			c.attempts++
			d := stormRetryDelay(attempts)
			if wait > 0 {
				d, wait = wait, 0
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			began := stamp()
			if ws, err = s.connect(ctx, c, true); err == nil {
				if s.heads.Load() != nil && c.dialedAt == 0 {
					c.dialedAt, c.welcomedAt = began, stamp()
				}
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.failedAttempts.Add(1)
			if s.heads.Load() != nil {
				s.count(&s.failures, failureCause(err))
			}
			wait = s.retryAfter(err)
		}
	}
}

// retryAfter is what a close code asks of the client before its next
// attempt (wire.CloseRateLimited: that long; wire.CloseDraining: a random
// moment in that window), counting the code; zero leaves the backoff's.
func (s *storm) retryAfter(err error) time.Duration {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return 0
	}
	s.count(&s.closes, strconv.Itoa(int(ce.Code)))
	ra, perr := wire.ParseRetryAfter(ce.Reason)
	if perr != nil || ra.RetryAfterMS <= 0 {
		return 0
	}
	window := time.Duration(ra.RetryAfterMS) * time.Millisecond
	switch wire.CloseCode(ce.Code) {
	case wire.CloseRateLimited:
		return window
	case wire.CloseDraining:
		return rand.N(window) + 1
	}
	return 0
}

// connect dials, says hello and waits for the welcome, within the client's
// connection timeout. A first connection then subscribes (and the room's
// even member sends its first message); a reconnection resumes the room in
// its hello, as tether's client does.
func (s *storm) connect(ctx context.Context, c *stormClient, resume bool) (*websocket.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, conn.DefaultConnectionTimeout)
	defer cancel()
	ws, err := dialWS(cctx, c.http, s.url, tetherProtocol{})
	if err != nil {
		return nil, err
	}
	room := roomName(c.room)
	hello := &wire.Hello{Token: c.token}
	if resume {
		hello.Resume = map[string]int64{room: c.log.last}
	}
	if err := writeFrame(cctx, ws, hello); err != nil {
		ws.CloseNow()
		return nil, err
	}
	for {
		_, data, err := ws.Read(cctx)
		if err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("failed to wait for welcome: %w", err)
		}
		if bytes.HasPrefix(data, []byte(`{"type":"error"`)) {
			ws.CloseNow()
			return nil, fmt.Errorf("the server refused: %s", data)
		}
		if bytes.HasPrefix(data, []byte(`{"type":"welcome"`)) {
			break
		}
	}
	if resume {
		return ws, nil
	}
	if err := writeFrame(cctx, ws, &wire.Subscribe{Room: room}); err != nil {
		ws.CloseNow()
		return nil, err
	}
	if c.idx%2 == 0 {
		send := &wire.Send{Room: room, ClientID: "first-" + strconv.Itoa(c.idx), Body: "before the storm"}
		if err := writeFrame(cctx, ws, send); err != nil {
			ws.CloseNow()
			return nil, err
		}
	}
	return ws, nil
}

// writeFrame encodes f and writes it to ws.
func writeFrame(ctx context.Context, ws *websocket.Conn, f wire.Frame) error {
	data, err := wire.Encode(f)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageText, data)
}

// read handles the socket's frames until it ends.
func (s *storm) read(ctx context.Context, c *stormClient, ws *websocket.Conn) error {
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		s.handle(c, data)
	}
}

// handle checks one frame from the server.
func (s *storm) handle(c *stormClient, data []byte) {
	heads := s.heads.Load()
	switch {
	case bytes.HasPrefix(data, []byte(`{"type":"message"`)):
		seq, clientID, ok := messageSeq(data)
		if !ok {
			s.fail(fmt.Sprintf("client %d: unreadable message %.200q", c.idx, data))
			return
		}
		c.log.add(seq)
		if k := seq - stormBefore; k > 0 && clientID != stormClientID(int(k)) {
			s.foreign.Add(1)
			s.fail(fmt.Sprintf("client %d: seq %d of %s is %q, not the storm's message %d", c.idx, seq, roomName(c.room), clientID, k))
		}
		if !c.primed && c.log.complete(stormBefore) {
			c.primed = true
			s.primed.Add(1)
		}
		if heads != nil && c.caughtUpAt == 0 && c.log.complete((*heads)[c.room]) {
			c.caughtUpAt = stamp()
			s.caughtUp.Add(1)
		}
	case bytes.HasPrefix(data, []byte(`{"type":"subscribed"`)):
		if heads == nil {
			return
		}
		if c.resumedAt == 0 {
			c.resumedAt = stamp()
			s.resumed.Add(1)
		}
		if !bytes.Contains(data, []byte(`"recovered":true`)) {
			s.notRecovered.Add(1)
		}
	case bytes.HasPrefix(data, []byte(`{"type":"error"`)):
		s.fail(fmt.Sprintf("client %d: %s", c.idx, data))
	}
}
