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
	case dialResult:
		s.release(it.gen)
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
	switch ev := ev.(type) {
	case TokenReady:
		s.release(ev.Req)
	case ProbeDone:
		s.release(ev.Req)
	case PollDone:
		s.release(ev.Req)
	case HistoryDone:
		s.release(ev.Req)
	case PostDone:
		s.release(ev.Req)
	}
	for _, fx := range s.m.step(s.ports.Clock.Now(), ev) {
		s.run(fx)
	}
	if ev, ok := ev.(SocketClosed); ok {
		delete(s.sockets, ev.Gen)
	}
	s.publish()
}

// run carries out one effect. Port calls that may wait run in their own
// goroutine with a context that Cancel and Close end; their answer comes
// back as an event.
func (s *Service) run(fx Effect) {
	switch f := fx.(type) {
	case Dial:
		gen := f.Gen
		ctx := s.request(gen)
		events := SocketEvents{
			OnFrame: func(data []byte) { s.post(rawFrame{gen: gen, data: bytes.Clone(data)}) },
			OnClose: func(code wire.CloseCode, reason string) {
				s.post(SocketClosed{Gen: gen, Code: code, Reason: reason})
			},
		}
		s.spawn(func() {
			sock, err := s.ports.Dialer.Dial(ctx, events)
			if err != nil {
				err = fmt.Errorf("failed to dial: %w", err)
			}
			s.post(dialResult{gen: gen, sock: sock, err: err})
		})
	case SendFrame:
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
	case CloseSocket:
		s.release(f.Gen)
		if sock := s.sockets[f.Gen]; sock != nil {
			delete(s.sockets, f.Gen)
			if err := sock.Close(f.Code, f.Reason); err != nil {
				s.log.Debug(LogPrefix+"Failed to close a socket", "err", err)
			}
		}
	case FetchToken:
		ctx := s.request(f.Req)
		s.spawn(func() {
			var tok string
			var err error
			if f.Refresh {
				tok, err = s.ports.Tokens.Refresh(ctx)
			} else {
				tok, err = s.ports.Tokens.Token(ctx)
			}
			if err != nil {
				err = fmt.Errorf("failed to get a token: %w", err)
			}
			s.post(TokenReady{Req: f.Req, Token: tok, Err: err})
		})
	case Probe:
		ctx := s.request(f.Req)
		s.spawn(func() {
			err := s.ports.HTTP.Ping(ctx)
			if err != nil {
				err = fmt.Errorf("failed to ping: %w", err)
			}
			s.post(ProbeDone{Req: f.Req, Err: err})
		})
	case Poll:
		ctx := s.request(f.Req)
		s.spawn(func() {
			page, err := s.ports.HTTP.Messages(ctx, f.Token, f.Room, f.Since, f.Wait, f.Limit)
			if err != nil {
				err = fmt.Errorf("failed to poll %s: %w", f.Room, err)
			}
			s.post(PollDone{Req: f.Req, Room: f.Room, Page: page, Err: err})
		})
	case FetchHistory:
		ctx := s.request(f.Req)
		s.spawn(func() {
			page, err := s.ports.HTTP.Messages(ctx, f.Token, f.Room, f.Since, 0, f.Limit)
			if err != nil {
				err = fmt.Errorf("failed to read the history of %s: %w", f.Room, err)
			}
			s.post(HistoryDone{Req: f.Req, Room: f.Room, Page: page, Err: err})
		})
	case Post:
		ctx := s.request(f.Req)
		s.spawn(func() {
			posted, err := s.ports.HTTP.Post(ctx, f.Token, f.Room, f.ClientID, f.Body)
			if err != nil {
				err = fmt.Errorf("failed to post to %s: %w", f.Room, err)
			}
			s.post(PostDone{Req: f.Req, ClientID: f.ClientID, Posted: posted, Err: err})
		})
	case Cancel:
		s.release(f.Req)
	case StartTimer:
		if t := s.timers[f.Timer]; t != nil {
			t.Stop()
		}
		kind, id := f.Timer, f.ID
		s.timers[kind] = s.ports.Clock.AfterFunc(f.After, func() { s.post(TimerFired{Timer: kind, ID: id}) })
	case StopTimer:
		if t := s.timers[f.Timer]; t != nil {
			t.Stop()
			s.timers[f.Timer] = nil
		}
	case Deliver:
		for _, sub := range slices.Clone(s.rooms[f.Room]) {
			for _, msg := range f.Messages {
				if sub.stopped.Load() {
					break
				}
				sub.onMessage(msg)
			}
		}
	case FailRoom:
		for _, sub := range slices.Clone(s.rooms[f.Room]) {
			if !sub.stopped.Load() && sub.onError != nil {
				sub.onError(f.Err)
			}
		}
	case Persist:
		s.dirty = true
	case Log:
		s.log.Log(context.Background(), f.Level, f.Msg, f.Args...)
	}
}

// spawn runs a port call in its own goroutine; Close waits for it. The
// answer is posted before the goroutine counts as finished, so a test that
// sees no goroutine running and an empty queue sees a settled service.
func (s *Service) spawn(call func()) {
	s.effects.Add(1)
	s.running.Add(1)
	go func() {
		defer s.effects.Done()
		defer s.running.Add(-1)
		call()
	}()
}

// request makes the context of request id; release or Close ends it.
func (s *Service) request(id uint64) context.Context {
	ctx, cancel := context.WithCancel(s.ctx)
	s.cancels[id] = cancel
	return ctx
}

func (s *Service) release(id uint64) {
	if cancel := s.cancels[id]; cancel != nil {
		cancel()
		delete(s.cancels, id)
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
	for k, t := range s.timers {
		if t != nil {
			t.Stop()
			s.timers[k] = nil
		}
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
