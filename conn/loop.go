package conn

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"tether/conn/wire"
)

// The service goroutine: it takes events off an unbounded queue (a socket's
// frames are never dropped, and no caller ever waits on it), steps the
// machine, runs the effects and publishes what changed.

// rawFrame is a frame as the socket delivered it; it is decoded on the
// service goroutine.
type rawFrame struct {
	gen  uint64
	data []byte
}

// dialResult carries the socket a Dial opened.
type dialResult struct {
	gen  uint64
	sock Socket
	err  error
}

// answer is what a port call posts back: its result (an Event, or a
// dialResult) and the id its context was registered under, which the
// service goroutine releases before it handles the result.
type answer struct {
	id     uint64
	result any
}

// post queues an event or a function for the service goroutine. It never
// blocks, so port callbacks may call it.
func (s *Service) post(item any) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, item)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take waits for the queue to fill and empties it.
func (s *Service) take() []any {
	s.mu.Lock()
	for len(s.queue) == 0 {
		s.idle = true
		s.mu.Unlock()
		<-s.wake
		s.mu.Lock()
	}
	s.idle = false
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	return batch
}

// loop is the service goroutine.
func (s *Service) loop() {
	defer close(s.done)
	for {
		for _, item := range s.take() {
			s.handle(item)
			if s.m.closed {
				s.shutdown()
				return
			}
		}
		if s.dirty {
			s.save()
		}
	}
}

// handle takes one item of the queue on the service goroutine: a function,
// a frame to decode, the answer of a port call or an event.
func (s *Service) handle(item any) {
	switch it := item.(type) {
	case func():
		it()
	case rawFrame:
		f, err := wire.Decode(it.data)
		if err != nil {
			err = fmt.Errorf("failed to decode a frame: %w", err)
		}
		s.apply(FrameReceived{Gen: it.gen, Frame: f, Err: err})
	case answer:
		s.release(it.id)
		s.handle(it.result)
	case dialResult:
		if it.sock != nil {
			s.sockets[it.gen] = it.sock
		}
		s.apply(Dialed{Gen: it.gen, Err: it.err})
	case Event:
		s.apply(it)
	}
}

// apply steps the machine on the service goroutine and runs the effects.
func (s *Service) apply(ev Event) {
	for _, fx := range s.m.step(s.ports.Clock.Now(), ev) {
		s.run(fx)
	}
	if ev, ok := ev.(SocketClosed); ok {
		delete(s.sockets, ev.Gen)
	}
	s.publish()
}

// run carries out one effect on the service goroutine; a port call goes to
// call.
func (s *Service) run(fx Effect) {
	switch f := fx.(type) {
	case SendFrame:
		s.sendFrame(f)
	case CloseSocket:
		s.release(f.Gen)
		s.closeSocket(f.Gen, f.Code, f.Reason)
	case Cancel:
		s.release(f.Req)
	case StartTimer:
		s.stopTimer(f.Timer)
		kind, id := f.Timer, f.ID
		s.timers[kind] = s.ports.Clock.AfterFunc(f.After, func() { s.post(TimerFired{Timer: kind, ID: id}) })
	case StopTimer:
		s.stopTimer(f.Timer)
	case Deliver:
		s.deliver(f.Room, f.Messages)
	case FailRoom:
		s.failRoom(f.Room, f.Err)
	case Persist:
		s.dirty = true
	case Log:
		s.log.Log(context.Background(), f.Level, f.Msg, f.Args...)
	default:
		s.call(fx)
	}
}

// call starts the port call fx asks for. Port calls that may wait run in
// their own goroutine with a context that Cancel, CloseSocket and Close end;
// their answer comes back as an event. A new port call is one case here.
func (s *Service) call(fx Effect) {
	switch f := fx.(type) {
	case Dial:
		events := s.socketEvents(f.Gen)
		s.spawn(f.Gen, func(ctx context.Context) any {
			sock, err := s.ports.Dialer.Dial(ctx, events)
			return dialResult{gen: f.Gen, sock: sock, err: failed("dial", err)}
		})
	case FetchToken:
		s.spawn(f.Req, func(ctx context.Context) any {
			fetch := s.ports.Tokens.Token
			if f.Refresh {
				fetch = s.ports.Tokens.Refresh
			}
			tok, err := fetch(ctx)
			return TokenReady{Req: f.Req, Token: tok, Err: failed("get a token", err)}
		})
	case Probe:
		s.spawn(f.Req, func(ctx context.Context) any {
			return ProbeDone{Req: f.Req, Err: failed("ping", s.ports.HTTP.Ping(ctx))}
		})
	case Poll:
		s.spawn(f.Req, func(ctx context.Context) any {
			page, err := s.ports.HTTP.Messages(ctx, f.Token, f.Room, f.Since, f.Wait, f.Limit)
			return PollDone{Req: f.Req, Room: f.Room, Page: page, Err: failed("poll "+f.Room, err)}
		})
	case FetchHistory:
		s.spawn(f.Req, func(ctx context.Context) any {
			page, err := s.ports.HTTP.Messages(ctx, f.Token, f.Room, f.Since, 0, f.Limit)
			return HistoryDone{Req: f.Req, Room: f.Room, Page: page, Err: failed("read the history of "+f.Room, err)}
		})
	case Post:
		s.spawn(f.Req, func(ctx context.Context) any {
			posted, err := s.ports.HTTP.Post(ctx, f.Token, f.Room, f.ClientID, f.Body)
			return PostDone{Req: f.Req, ClientID: f.ClientID, Posted: posted, Err: failed("post to "+f.Room, err)}
		})
	}
}

// spawn runs call, a port call, in its own goroutine with a context
// registered under id (a request id or a socket generation), and posts what
// call returns as an answer; release or Close ends the context, and Close
// waits for the goroutine. The answer is posted before the goroutine counts
// as finished, so a test that sees no goroutine running and an empty queue
// sees a settled service.
func (s *Service) spawn(id uint64, call func(ctx context.Context) any) {
	ctx, cancel := context.WithCancel(s.ctx)
	s.cancels[id] = cancel
	s.effects.Add(1)
	s.running.Add(1)
	go func() {
		defer s.effects.Done()
		defer s.running.Add(-1)
		s.post(answer{id: id, result: call(ctx)})
	}()
}

// release ends the context of request id, if it still runs.
func (s *Service) release(id uint64) {
	if cancel := s.cancels[id]; cancel != nil {
		cancel()
		delete(s.cancels, id)
	}
}

// failed wraps the error of a port call as "failed to what: err"; nil stays
// nil.
func failed(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("failed to %s: %w", what, err)
}

// socketEvents hands the callbacks of the socket of generation gen to the
// service goroutine. A frame is copied before it is queued, so the port may
// reuse data once OnFrame returns.
func (s *Service) socketEvents(gen uint64) SocketEvents {
	return SocketEvents{
		OnFrame: func(data []byte) { s.post(rawFrame{gen: gen, data: bytes.Clone(data)}) },
		OnClose: func(code wire.CloseCode, reason string) {
			s.post(SocketClosed{Gen: gen, Code: code, Reason: reason})
		},
	}
}

// sendFrame writes f to its socket, when that socket is still open; a write
// that fails closes the socket as a drop would.
func (s *Service) sendFrame(f SendFrame) {
	sock := s.sockets[f.Gen]
	if sock == nil {
		return
	}
	data, err := wire.Encode(f.Frame)
	if err != nil {
		s.log.Error(LogPrefix+"Failed to encode a frame", "err", err)
		return
	}
	if err := sock.Send(data); err != nil {
		s.post(SocketClosed{Gen: f.Gen, Code: wire.CloseAbnormal, Reason: "failed to send: " + err.Error()})
	}
}

// closeSocket closes the socket of generation gen, if it is open.
func (s *Service) closeSocket(gen uint64, code wire.CloseCode, reason string) {
	if sock := s.sockets[gen]; sock != nil {
		delete(s.sockets, gen)
		if err := sock.Close(code, reason); err != nil {
			s.log.Debug(LogPrefix+"Failed to close a socket", "err", err)
		}
	}
}

// stopTimer stops the timer of kind, if it runs.
func (s *Service) stopTimer(kind TimerKind) {
	if t := s.timers[kind]; t != nil {
		t.Stop()
		s.timers[kind] = nil
	}
}

// deliver hands msgs to the subscribers of room, in order. A subscriber that
// unsubscribes from its own callback hears no more of them.
func (s *Service) deliver(room string, msgs []wire.Message) {
	for _, sub := range slices.Clone(s.rooms[room]) {
		for _, msg := range msgs {
			if sub.stopped.Load() {
				break
			}
			sub.onMessage(msg)
		}
	}
}

// failRoom tells the subscribers of room that it failed for good.
func (s *Service) failRoom(room string, err error) {
	for _, sub := range slices.Clone(s.rooms[room]) {
		if !sub.stopped.Load() && sub.onError != nil {
			sub.onError(err)
		}
	}
}

// publish tells the watchers what changed.
func (s *Service) publish() {
	if st := s.m.Status(); st != s.lastStatus {
		s.lastStatus = st
		s.status.Store(&st)
		for _, w := range slices.Clone(s.watchers) {
			if !w.stopped.Load() {
				w.fn(st)
			}
		}
	}
	if v := s.m.OutboxVersion(); v != s.lastOutbox {
		s.lastOutbox = v
		ob := s.m.Outbox()
		s.outbox.Store(&ob)
		for _, w := range slices.Clone(s.outboxWatchers) {
			if !w.stopped.Load() {
				w.fn(slices.Clone(ob))
			}
		}
	}
}

func (s *Service) save() {
	s.dirty = false
	if s.ports.Storage == nil {
		return
	}
	if err := s.ports.Storage.Save(s.m.Snapshot()); err != nil {
		s.log.Warn(LogPrefix+"Failed to save the snapshot", "err", err)
	}
}

// shutdown runs once the machine is closed: nothing outlives it.
func (s *Service) shutdown() {
	if s.envStop != nil {
		s.envStop()
	}
	for k := range s.timers {
		s.stopTimer(TimerKind(k))
	}
	for gen, sock := range s.sockets {
		delete(s.sockets, gen)
		_ = sock.Close(wire.CloseNormal, "client closed")
	}
	s.save()
	s.mu.Lock()
	s.stopped = true
	s.queue = nil
	s.mu.Unlock()
	s.cancel()
	s.effects.Wait()
	clear(s.cancels)
}
