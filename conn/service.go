package conn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"tether/conn/wire"
)

// Errors of the public API, for errors.Is.
var (
	// ErrClosed is returned by calls after Close.
	ErrClosed = errors.New("connection service closed")
	// ErrInvalidRoom is a room id that does not match wire.RoomPattern.
	ErrInvalidRoom = errors.New("invalid room")
	// ErrInvalidBody is a message body that wire.ValidateBody refuses.
	ErrInvalidBody = errors.New("invalid message body")
)

// Service keeps one chat connection alive through bad networks. One
// goroutine (the service goroutine) owns the Machine and runs its effects;
// every public method hands it an event and returns at once.
type Service struct {
	ports Ports
	log   *slog.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	effects sync.WaitGroup // goroutines running a port call
	running atomic.Int64   // the same count, readable by tests

	mu      sync.Mutex
	queue   []any // events and functions for the service goroutine
	idle    bool  // the service goroutine waits on an empty queue
	stopped bool  // the service goroutine is gone: posts are dropped
	wake    chan struct{}
	done    chan struct{}

	closeOnce sync.Once
	closing   atomic.Bool

	status atomic.Pointer[Status]
	outbox atomic.Pointer[[]OutboxEntry]

	idPrefix string
	idSeq    atomic.Uint64

	// Owned by the service goroutine.
	m              Machine
	sockets        map[uint64]Socket
	cancels        map[uint64]context.CancelFunc
	timers         [timerCount]Timer
	rooms          map[string][]*subscriber
	watchers       []*watcher[Status]
	outboxWatchers []*watcher[[]OutboxEntry]
	envStop        func()
	lastStatus     Status
	lastOutbox     uint64
	dirty          bool
}

type subscriber struct {
	room      string
	onMessage func(wire.Message)
	onError   func(error)
	stopped   atomic.Bool
}

type watcher[T any] struct {
	fn      func(T)
	stopped atomic.Bool
}

// New starts the service: it loads the snapshot, starts the service
// goroutine and connects. Clock, Dialer, HTTP and Tokens are required;
// Env, Storage, Logger and Rand may be nil.
func New(cfg Config, ports Ports) *Service {
	if ports.Clock == nil || ports.Dialer == nil || ports.HTTP == nil || ports.Tokens == nil {
		panic("conn: New needs the Clock, Dialer, HTTP and Tokens ports")
	}
	logger := ports.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := ports.Clock.Now()
	seed := uint64(now.UnixNano())
	if ports.Rand != nil {
		seed = uint64(ports.Rand()*(1<<53)) ^ uint64(ports.Rand()*(1<<53))<<11
	}
	var snap Snapshot
	if ports.Storage != nil {
		var err error
		if snap, err = ports.Storage.Load(); err != nil {
			logger.Warn(LogPrefix+"Failed to load the snapshot", "err", err)
			snap = Snapshot{}
		}
	}
	online, visible := true, true
	if ports.Env != nil {
		online, visible = ports.Env.Online(), ports.Env.Visible()
	}
	ctx, cancel := context.WithCancel(context.Background())
	idRand := rng{state: seed ^ 0x5deece66d}
	s := &Service{
		ports:    ports,
		log:      logger,
		ctx:      ctx,
		cancel:   cancel,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		idPrefix: "c" + strconv.FormatInt(now.UnixMilli(), 36) + "-" + strconv.FormatUint(idRand.next()>>32, 36),
		m:        NewMachine(cfg, Init{Snapshot: snap, Seed: seed, Online: online, Visible: visible}),
		sockets:  map[uint64]Socket{},
		cancels:  map[uint64]context.CancelFunc{},
		rooms:    map[string][]*subscriber{},
	}
	s.lastStatus = s.m.Status()
	initial := s.lastStatus
	s.status.Store(&initial)
	s.lastOutbox = s.m.OutboxVersion()
	ob := s.m.Outbox()
	s.outbox.Store(&ob)
	s.post(Started{})
	if ports.Env != nil {
		s.envStop = ports.Env.Watch(func(ev EnvEvent) { s.post(EnvChanged{Event: ev}) })
	}
	go s.loop()
	return s
}

// Status returns the current status. It is safe from any goroutine.
func (s *Service) Status() Status { return *s.status.Load() }

// Watch calls fn on the service goroutine with the current status, then
// after each change, until stop is called. fn must not block: hand the
// value over (ctx.Dispatch) and return.
func (s *Service) Watch(fn func(Status)) (stop func()) {
	w := &watcher[Status]{fn: fn}
	s.post(func() {
		if !w.stopped.Load() {
			s.watchers = append(s.watchers, w)
			fn(s.lastStatus)
		}
	})
	return func() {
		w.stopped.Store(true)
		s.post(func() { s.watchers = slices.DeleteFunc(s.watchers, func(x *watcher[Status]) bool { return x == w }) })
	}
}

// Outbox returns the messages not acked yet, pending or failed, in the order
// they were sent. It is safe from any goroutine.
func (s *Service) Outbox() []OutboxEntry { return slices.Clone(*s.outbox.Load()) }

// WatchOutbox calls fn on the service goroutine with the outbox, then after
// each change, until stop is called. fn owns the slice; it must not block.
func (s *Service) WatchOutbox(fn func([]OutboxEntry)) (stop func()) {
	w := &watcher[[]OutboxEntry]{fn: fn}
	s.post(func() {
		if !w.stopped.Load() {
			s.outboxWatchers = append(s.outboxWatchers, w)
			fn(s.m.Outbox())
		}
	})
	return func() {
		w.stopped.Store(true)
		s.post(func() {
			s.outboxWatchers = slices.DeleteFunc(s.outboxWatchers, func(x *watcher[[]OutboxEntry]) bool { return x == w })
		})
	}
}

// SubscribeToMessages delivers the messages of room to onMessage, in seq
// order and once per seq, through every reconnect, starting after the last
// seq the service holds for the room (persisted across reloads). onError
// hears when the room fails for good (the user is not a participant); it
// may be nil. Both run on the service goroutine and must not block. After
// Close, onError is called at once with ErrClosed on the caller's goroutine.
func (s *Service) SubscribeToMessages(room string, onMessage func(wire.Message), onError func(error)) (unsubscribe func()) {
	return s.SubscribeAfter(room, 0, onMessage, onError)
}

// SubscribeAfter is SubscribeToMessages for a caller that has read room up
// to seq after another way (its newest history page): when the service
// holds no seq of the room yet, delivery starts after that seq instead of
// replaying the whole room. A room the service has seen resumes from its own
// seq, so nothing is ever skipped; the caller drops what it already holds.
func (s *Service) SubscribeAfter(room string, after int64, onMessage func(wire.Message), onError func(error)) (unsubscribe func()) {
	sub := &subscriber{room: room, onMessage: onMessage, onError: onError}
	if s.closing.Load() {
		if onError != nil {
			onError(ErrClosed)
		}
		return func() {}
	}
	if !wire.ValidRoom(room) {
		err := fmt.Errorf("failed to subscribe to %q: %w", room, ErrInvalidRoom)
		s.post(func() {
			if onError != nil {
				onError(err)
			}
		})
		return func() {}
	}
	s.post(func() {
		if sub.stopped.Load() {
			return
		}
		subs := s.rooms[room]
		s.rooms[room] = append(subs, sub)
		if len(subs) == 0 {
			s.apply(RoomWanted{Room: room, After: after})
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			sub.stopped.Store(true)
			s.post(func() {
				subs := slices.DeleteFunc(s.rooms[room], func(x *subscriber) bool { return x == sub })
				if len(subs) > 0 {
					s.rooms[room] = subs
					return
				}
				if _, ok := s.rooms[room]; ok {
					delete(s.rooms, room)
					s.apply(RoomUnwanted{Room: room})
				}
			})
		})
	}
}

// Send queues body for room and returns its client id at once; the outbox
// persists it and delivers it exactly once, in order, on whatever transport
// works. The id matches the client_id of the ack and of the message when it
// comes back.
func (s *Service) Send(room, body string) (clientID string, err error) {
	if s.closing.Load() {
		return "", ErrClosed
	}
	if !wire.ValidRoom(room) {
		return "", fmt.Errorf("failed to send to %q: %w", room, ErrInvalidRoom)
	}
	if err := wire.ValidateBody(body); err != nil {
		return "", fmt.Errorf("failed to send to %s: %w: %w", room, ErrInvalidBody, err)
	}
	clientID = s.idPrefix + "-" + strconv.FormatUint(s.idSeq.Add(1), 36)
	s.post(SendRequested{Entry: OutboxEntry{ClientID: clientID, Room: room, Body: body, Created: s.ports.Clock.Now()}})
	return clientID, nil
}

// History reads up to limit messages of room with seq < before, the newest
// of them, in seq order: the older pages a chat shows above what
// SubscribeToMessages delivered. A before of 0 or less reads the newest
// page; a limit of 0 or less takes the server's default (at most
// wire.MaxPageLimit either way). It asks the server over HTTP on the
// caller's goroutine with the session's token and returns when the server
// answers, ctx ends or the service closes. A 401 asks the token source for
// a new token once (unless the service renewed it meanwhile) and tries
// again. A 403 is ErrForbidden.
//
// It does not go through the service goroutine: a page of the past changes
// nothing the service owns, and must not wait behind the connection.
func (s *Service) History(ctx context.Context, room string, before int64, limit int) ([]wire.Message, error) {
	if s.closing.Load() {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	msgs, err := ReadHistory(ctx, s.ports.HTTP, s.ports.Tokens, room, before, limit)
	if err != nil && s.closing.Load() && ctx.Err() != nil {
		return nil, fmt.Errorf("failed to read the history of %s: %w", room, ErrClosed)
	}
	return msgs, err
}

// ReadHistory is History without a service: a page of room's past over
// h with a token of tokens (a 401 renews it once, a 403 is ErrForbidden).
// A tab that follows another tab's connection reads its pages this way.
func ReadHistory(ctx context.Context, h HTTP, tokens TokenSource, room string, before int64, limit int) ([]wire.Message, error) {
	if !wire.ValidRoom(room) {
		return nil, fmt.Errorf("failed to read the history of %q: %w", room, ErrInvalidRoom)
	}
	page, err := history(ctx, h, tokens, room, max(before, 0), min(max(limit, 0), wire.MaxPageLimit))
	if err == nil {
		return page.Messages, nil
	}
	if status, _ := StatusOf(err); status == 403 {
		return nil, fmt.Errorf("failed to read the history of %s: %w: %w", room, ErrForbidden, err)
	}
	return nil, fmt.Errorf("failed to read the history of %s: %w", room, err)
}

// history asks for the page with the current token, and once more with a
// new one when the server refuses it.
func history(ctx context.Context, h HTTP, tokens TokenSource, room string, before int64, limit int) (wire.MessagesPage, error) {
	tok, err := tokens.Token(ctx)
	if err != nil {
		return wire.MessagesPage{}, fmt.Errorf("failed to get a token: %w", err)
	}
	page, err := h.History(ctx, tok, room, before, limit)
	if status, _ := StatusOf(err); status != 401 {
		return page, err
	}
	// The service may have renewed the token since it was read: that one
	// is worth a try before asking for another.
	fresh, terr := tokens.Token(ctx)
	if terr != nil || fresh == tok {
		if fresh, terr = tokens.Refresh(ctx); terr != nil {
			return page, fmt.Errorf("%w (no new token: %w)", err, terr)
		}
	}
	return h.History(ctx, fresh, room, before, limit)
}

// Retry sends a failed message again.
func (s *Service) Retry(clientID string) { s.post(RetryRequested{ClientID: clientID}) }

// Discard drops a message from the outbox, failed or pending. A message in
// flight may still be stored by the server.
func (s *Service) Discard(clientID string) { s.post(DiscardRequested{ClientID: clientID}) }

// ForceReconnect skips the wait and connects now; when unauthorized, it
// asks the token source for a new token first.
func (s *Service) ForceReconnect() { s.post(ReconnectRequested{}) }

// Close stops the service: every timer, socket, request and goroutine ends
// before it returns. It must not be called from a callback of the service.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.post(CloseRequested{})
	})
	<-s.done
}
