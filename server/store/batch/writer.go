//go:build !wasm

// Package batch is the group-commit writer of tether's stores: the callers
// of Append hand their messages to one goroutine, which commits them in
// batches, one transaction each. Under load the appends that queue during
// one commit share the next one (SQLite's fsync, PostgreSQL's round trip),
// and a lone append is never delayed to wait for company.
//
// A store keeps only what is its own: how a batch is stored (an ApplyFunc)
// and the rest of its calls.
package batch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"tether/conn/wire"
	"tether/server/store"
)

// DefaultMaxBatch is the most appends one commit holds when
// Options.MaxBatch is not set.
const DefaultMaxBatch = 256

// Options tunes a Writer; the zero value is ready to use.
type Options struct {
	// Name is the store's, for the writer's errors and log lines ("sqlite":
	// "failed to append to the sqlite store: …"), so a log reader knows
	// which store failed.
	Name string
	// MaxBatch is the most appends one commit holds; 0 or less means
	// DefaultMaxBatch.
	MaxBatch int
	// Gather is how long the writer waits for more appends before it
	// commits, while appends come faster than commits: the previous commit
	// held more than one. A lone append (the previous commit held one) is
	// never held back. 0 or less: never wait.
	Gather time.Duration
	// OnCommit, when set, is told of the messages each commit created, on
	// the writer goroutine and before the commit's appends are answered
	// (see commit). The next commit waits for it.
	OnCommit store.CommitFunc
	// Logger receives the batches that failed; nil means slog.Default().
	Logger *slog.Logger
}

// Result is the answer to one append: the message stored, with Created
// true, or the one its room already held from the same sender with the
// same client_id, with Created false.
type Result struct {
	Msg     wire.Message
	Created bool
}

// ApplyFunc stores msgs in one transaction, sets results[i] to the answer
// to msgs[i], and returns the messages it created in commit order (seq
// order within each room). When it returns an error nothing of msgs may be
// stored: every append of the batch gets the error.
//
// It runs on the writer goroutine, one batch at a time. msgs and results
// are reused for the next batch: it must not keep them.
type ApplyFunc func(msgs []store.NewMessage, results []Result) (created []wire.Message, err error)

// Writer commits the appends of many callers in batches, on one goroutine
// that New starts and Close stops.
type Writer struct {
	apply    ApplyFunc
	name     string
	maxBatch int
	gather   time.Duration
	onCommit store.CommitFunc
	log      *slog.Logger

	// reqs is unbuffered so that "taken by the writer" is one well-defined
	// moment: before it an Append may still give up and store nothing.
	reqs chan request
	done chan struct{} // closed when the writer goroutine ends

	// mu guards closed. Append holds it shared until the writer takes its
	// request, so Close, which takes it exclusively, waits for the requests
	// being handed over, and none is handed over once closed is set.
	mu     sync.RWMutex
	closed bool
}

// request is one Append waiting for the writer.
type request struct {
	m store.NewMessage
	// reply has room for the answer so that the writer never waits for a
	// caller that stopped waiting.
	reply chan answer
}

type answer struct {
	res Result
	err error
}

// New starts a writer that stores each batch with apply. Close stops it.
func New(apply ApplyFunc, opts Options) *Writer {
	w := &Writer{
		apply:    apply,
		name:     opts.Name,
		maxBatch: opts.MaxBatch,
		gather:   opts.Gather,
		onCommit: opts.OnCommit,
		log:      opts.Logger,
		reqs:     make(chan request),
		done:     make(chan struct{}),
	}
	if w.maxBatch <= 0 {
		w.maxBatch = DefaultMaxBatch
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	go w.run()
	return w
}

// Append hands m to the writer and returns its answer once the batch
// holding m is committed, or the error that failed the batch. If ctx ends
// before the writer takes m, nothing is stored and Append returns
// ctx.Err(); once taken, m is committed even if Append returns ctx.Err()
// first. After Close, Append returns store.ErrClosed.
func (w *Writer) Append(ctx context.Context, m store.NewMessage) (wire.Message, bool, error) {
	// select picks at random among ready cases: check first, so an ended
	// context never lets a request through.
	if err := ctx.Err(); err != nil {
		return wire.Message{}, false, err
	}
	req := request{m: m, reply: make(chan answer, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return wire.Message{}, false, store.ErrClosed
	}
	select {
	case w.reqs <- req:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return wire.Message{}, false, ctx.Err()
	}
	select {
	case a := <-req.reply:
		return a.res.Msg, a.res.Created, a.err
	case <-ctx.Done():
		// An answer that is already there is worth more than the error.
		select {
		case a := <-req.reply:
			return a.res.Msg, a.res.Created, a.err
		default:
			return wire.Message{}, false, ctx.Err()
		}
	}
}

// Close stops taking appends, then waits until those already handed over,
// or being handed over, are committed and answered. Every later Append
// returns store.ErrClosed; closing again only waits for the writer to end.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		// No Append holds mu any more, so none can be sending on reqs.
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.done
}

// run commits the appends until Close closes reqs. It takes one request,
// then whatever others already wait, up to maxBatch: under load the
// appends that queue during one commit share the next one, and a lone
// append is never delayed to wait for company. While appends come faster
// than commits (the last commit held more than one), it also waits up to
// gather for more before committing.
func (w *Writer) run() {
	defer close(w.done)
	batch := make([]request, 0, w.maxBatch)
	msgs := make([]store.NewMessage, 0, w.maxBatch)
	results := make([]Result, 0, w.maxBatch)
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	last := 0 // appends in the previous commit
	for first := range w.reqs {
		batch = append(batch[:0], first)
		var wait <-chan time.Time
		if last > 1 && w.gather > 0 {
			gather.Reset(w.gather)
			wait = gather.C
		}
	drain:
		for len(batch) < w.maxBatch {
			if wait == nil {
				select {
				case req, ok := <-w.reqs:
					if !ok {
						break drain
					}
					batch = append(batch, req)
				default:
					break drain
				}
				continue
			}
			select {
			case req, ok := <-w.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, req)
			case <-wait:
				wait = nil
				break drain
			}
		}
		if wait != nil {
			gather.Stop() // the batch filled up first
		}
		last = len(batch)
		msgs, results = w.commit(batch, msgs, results)
		clear(batch) // let the answered requests be collected
	}
}

// commit stores batch in one transaction, tells OnCommit of the messages
// it created, then answers every request. When the transaction fails,
// every request of the batch gets the error and nothing of it is stored.
// msgs and results are the buffers to use; it returns them emptied.
func (w *Writer) commit(batch []request, msgs []store.NewMessage, results []Result) ([]store.NewMessage, []Result) {
	msgs = msgs[:0]
	for _, req := range batch {
		msgs = append(msgs, req.m)
	}
	results = results[:len(batch)] // all zero: cleared after the last batch
	created, err := w.apply(msgs, results)
	if err != nil {
		w.log.Error(w.name+": append batch failed", "appends", len(batch), "err", err)
		err = fmt.Errorf("failed to append to the %s store: %w", w.name, err)
	} else if len(created) > 0 && w.onCommit != nil {
		// Before the replies, so that a subscriber learns of a message no
		// later than its sender's ack.
		w.onCommit(created)
	}
	for i, req := range batch {
		if err != nil {
			req.reply <- answer{err: err}
		} else {
			req.reply <- answer{res: results[i]}
		}
	}
	clear(msgs)
	clear(results)
	return msgs[:0], results[:0]
}
