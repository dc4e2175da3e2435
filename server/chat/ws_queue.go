//go:build !wasm

package chat

import (
	"context"
	"time"

	"github.com/coder/websocket"

	"tether/conn/wire"
)

// The outgoing queue of a session. Frames wait in a slice that grows with
// them (up to SendQueue) rather than in a channel of that capacity, which
// would cost every idle session 24 KiB; and the writer goroutine runs only
// while frames wait.

// push queues a frame if there is room and starts the writer if none runs.
// queued is false when the queue is full (full) or the session is over.
func (c *wsConn) push(frame []byte) (queued, full bool) {
	return c.pushHeld(frame, ackKey{})
}

// pushHeld is push for a message frame: when it is the echo of the message
// this session's onSend is about to acknowledge, it waits in the queue
// without starting the writer, and the ack (or doneAcking) starts it, so
// that the echo and the ack leave in one write instead of two.
func (c *wsConn) pushHeld(frame []byte, echo ackKey) (queued, full bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.ended || c.ctx.Err() != nil {
		return false, false
	}
	if len(c.queue) >= c.hub.cfg.SendQueue {
		return false, true
	}
	c.queue = append(c.queue, frame)
	if echo != (ackKey{}) && echo == c.acking {
		return true, false
	}
	c.startWriterLocked()
	return true, false
}

// startWriterLocked starts the writer if none runs; qmu is held.
func (c *wsConn) startWriterLocked() {
	if !c.writing {
		c.writing = true
		c.writerWG.Add(1)
		spawn(c.writeLoop)
	}
}

// startAcking marks the message onSend is storing (see pushHeld).
func (c *wsConn) startAcking(k ackKey) {
	c.qmu.Lock()
	c.acking = k
	c.qmu.Unlock()
}

// doneAcking ends what startAcking began, after the ack or the error is
// queued, and starts the writer for an echo that may wait.
func (c *wsConn) doneAcking() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.acking = ackKey{}
	if len(c.queue) > 0 && !c.ended && c.ctx.Err() == nil {
		c.startWriterLocked()
	}
}

// reusedQueue is the largest queue capacity a session keeps while idle.
const reusedQueue = 16

// writeLoop writes queued frames until the queue is empty or the session
// ends. Only one runs at a time (writing), so frames go out in order.
func (c *wsConn) writeLoop() {
	defer c.writerWG.Done()
	var batch [][]byte
	for {
		c.qmu.Lock()
		clear(batch)
		if c.queue == nil && cap(batch) <= reusedQueue {
			c.queue = batch[:0] // no allocation per batch under a steady load
		}
		if len(c.queue) == 0 || c.ctx.Err() != nil {
			c.writing = false
			if cap(c.queue) > reusedQueue {
				c.queue = nil
			}
			c.qmu.Unlock()
			return
		}
		batch, c.queue = c.queue, nil
		if c.space != nil {
			close(c.space)
			c.space = nil
		}
		c.qmu.Unlock()
		if err := c.writeBatch(batch); err != nil {
			c.drop()
			c.qmu.Lock()
			c.writing = false
			c.queue = nil
			c.qmu.Unlock()
			return
		}
	}
}

// writeBatch writes frames corked (see corkWriter): they leave in one
// system call per corkLimit bytes. The library writes into memory then, so
// it gets no timeout of its own; uncork has WriteTimeout.
func (c *wsConn) writeBatch(frames [][]byte) error {
	out := c.input.out
	out.cork()
	for _, frame := range frames {
		if c.hub.faults.Latency() > 0 {
			// The test latency delays each frame on the wire, as before.
			if err := out.uncork(c.hub.cfg.WriteTimeout); err != nil {
				return err
			}
			if err := c.writeOne(frame); err != nil {
				return err
			}
			out.cork()
			continue
		}
		if err := c.ws.Write(context.Background(), websocket.MessageText, frame); err != nil {
			out.uncork(c.hub.cfg.WriteTimeout)
			return err
		}
		if out.gathered() >= corkLimit {
			if err := out.uncork(c.hub.cfg.WriteTimeout); err != nil {
				return err
			}
			out.cork()
		}
	}
	return out.uncork(c.hub.cfg.WriteTimeout)
}

// writeOne writes a frame straight to the socket, within WriteTimeout.
func (c *wsConn) writeOne(frame []byte) error {
	c.hub.faults.Delay(c.ctx)
	// Not a child of c.ctx, which would keep a map of its children for the
	// session's life: when the session ends its socket is closed, which
	// ends a write as surely.
	ctx, cancel := context.WithTimeout(context.Background(), c.hub.cfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// enqueue queues a frame for the writer. A full queue means the peer reads
// too slowly: it is closed (1008) rather than allowed to hold anyone up.
func (c *wsConn) enqueue(frame []byte) bool {
	return c.enqueueEcho(frame, ackKey{})
}

// enqueueEcho is enqueue for a message frame (see pushHeld).
func (c *wsConn) enqueueEcho(frame []byte, echo ackKey) bool {
	queued, full := c.pushHeld(frame, echo)
	if full {
		c.slow()
	}
	return queued
}

// send queues a frame from the connection's own reader. The reader may
// wait for room in the queue (a long replay on a slow link), up to
// WriteTimeout; the hub's Publish never waits and uses enqueue instead.
func (c *wsConn) send(f wire.Frame) bool {
	b, err := wire.Encode(f)
	if err != nil {
		c.hub.log.Error("failed to encode a frame", "type", f.FrameType(), "err", err)
		return false
	}
	return c.enqueueWait(b)
}

func (c *wsConn) enqueueWait(frame []byte) bool {
	var t *time.Timer
	for {
		queued, full := c.push(frame)
		if !full {
			return queued
		}
		if t == nil {
			t = time.NewTimer(c.hub.cfg.WriteTimeout)
			defer t.Stop()
		}
		// Wait until the writer takes the frames that wait.
		c.qmu.Lock()
		if c.space == nil {
			c.space = make(chan struct{})
		}
		space := c.space
		c.qmu.Unlock()
		select {
		case <-space:
		case <-c.ctx.Done():
			return false
		case <-t.C:
			c.slow()
			return false
		}
	}
}
