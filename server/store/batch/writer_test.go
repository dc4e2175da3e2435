//go:build !wasm

package batch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/batch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The tests run in a synctest bubble: synctest.Wait returns once every
// other goroutine of the test is blocked, so a test knows where the writer
// and the callers are, and the gather's timer runs on the bubble's clock.

// msg is the nth message of a test; its client_id is "c<n>".
func msg(n int) store.NewMessage {
	return store.NewMessage{
		Room: "r", ID: fmt.Sprint("id", n), ClientID: fmt.Sprint("c", n), Body: "hello", SentAt: 1,
		Sender: wire.User{ID: "u1", Name: "Ada", Role: wire.RoleCustomer},
	}
}

// clientIDs returns the client_ids of messages n, in order.
func clientIDs(n ...int) []string {
	ids := make([]string, 0, len(n))
	for _, n := range n {
		ids = append(ids, fmt.Sprint("c", n))
	}
	return ids
}

// applier is an ApplyFunc that creates every message it is given (seq 1, 2,
// … in the order it sees them) and records the client_ids of each batch.
// While hold is set, each batch then waits for release, so a test knows
// where the writer is; fail, when set, may fail a batch instead.
type applier struct {
	mu      sync.Mutex
	batches [][]string
	seq     int64
	hold    bool
	release chan struct{}
	fail    func(clientIDs []string) error
}

func newApplier(hold bool) *applier {
	return &applier{hold: hold, release: make(chan struct{})}
}

// start starts a writer that applies with a, closed when the test ends.
func start(t *testing.T, a *applier, opts batch.Options) *batch.Writer {
	w := batch.New(a.apply, opts)
	t.Cleanup(w.Close)
	return w
}

func (a *applier) apply(msgs []store.NewMessage, results []batch.Result) ([]wire.Message, error) {
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ClientID)
	}
	a.mu.Lock()
	a.batches = append(a.batches, ids)
	hold, fail := a.hold, a.fail
	a.mu.Unlock()
	if hold {
		<-a.release
	}
	if fail != nil {
		if err := fail(ids); err != nil {
			return nil, err
		}
	}
	var created []wire.Message
	for i, m := range msgs {
		a.seq++
		stored := wire.Message{Room: m.Room, Seq: a.seq, ID: m.ID, ClientID: m.ClientID, Sender: m.Sender, Body: m.Body, SentAt: m.SentAt}
		results[i] = batch.Result{Msg: stored, Created: true}
		created = append(created, stored)
	}
	return created, nil
}

func (a *applier) setHold(hold bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hold = hold
}

// committed returns the client_ids of each batch applied, in order.
func (a *applier) committed() [][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.batches)
}

// sizes returns how many appends each batch held, in order.
func (a *applier) sizes() []int {
	var sizes []int
	for _, b := range a.committed() {
		sizes = append(sizes, len(b))
	}
	return sizes
}

type result struct {
	msg     wire.Message
	created bool
	err     error
}

// appendAsync calls w.Append(ctx, msg(n)) on a goroutine of its own, and
// returns once that call blocks (or has returned); its answer comes on the
// channel returned.
func appendAsync(ctx context.Context, w *batch.Writer, n int) <-chan result {
	answer := make(chan result, 1)
	go func() {
		m, created, err := w.Append(ctx, msg(n))
		answer <- result{m, created, err}
	}()
	synctest.Wait()
	return answer
}

// requireStored requires that an answer is message n, stored.
func requireStored(t *testing.T, n int, answer <-chan result) {
	t.Helper()
	got := <-answer
	require.NoError(t, got.err, "append %d", n)
	assert.Equal(t, fmt.Sprint("c", n), got.msg.ClientID, "append %d got another's answer", n)
	assert.True(t, got.created, "append %d", n)
}

func TestAppendsQueuedDuringACommitShareTheNextOne(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		maxBatch  int
		queued    int
		wantSizes []int
	}{
		{name: "every append that waits joins the next commit", maxBatch: 256, queued: 5, wantSizes: []int{1, 5}},
		{name: "a commit holds at most MaxBatch appends", maxBatch: 2, queued: 5, wantSizes: []int{1, 2, 2, 1}},
		{name: "a MaxBatch of one commits one at a time", maxBatch: 1, queued: 3, wantSizes: []int{1, 1, 1, 1}},
		{name: "no MaxBatch means DefaultMaxBatch", maxBatch: 0, queued: batch.DefaultMaxBatch + 1, wantSizes: []int{1, batch.DefaultMaxBatch, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				a := newApplier(true)
				w := start(t, a, batch.Options{MaxBatch: tt.maxBatch})

				answers := []<-chan result{appendAsync(t.Context(), w, 0)} // the writer now holds its batch
				for n := 1; n <= tt.queued; n++ {
					answers = append(answers, appendAsync(t.Context(), w, n))
				}
				close(a.release)
				for n, answer := range answers {
					requireStored(t, n, answer)
				}
				assert.Equal(t, tt.wantSizes, a.sizes())
			})
		})
	}
}

func TestALoneAppendIsNeverHeldBackToGather(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a := newApplier(false)
		w := start(t, a, batch.Options{Gather: time.Hour})
		for n := range 3 {
			start := time.Now()
			_, _, err := w.Append(t.Context(), msg(n))
			require.NoError(t, err)
			assert.Zero(t, time.Since(start), "append %d waited for company", n)
		}
		assert.Equal(t, []int{1, 1, 1}, a.sizes())
	})
}

func TestWhileAppendsComeFasterThanCommitsTheWriterGathers(t *testing.T) {
	t.Parallel()
	const gather = 10 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		a := newApplier(true)
		w := start(t, a, batch.Options{MaxBatch: 3, Gather: gather})

		// Two commits, the second of two appends: appends now come faster
		// than commits.
		first := appendAsync(t.Context(), w, 0)
		queued := []<-chan result{appendAsync(t.Context(), w, 1), appendAsync(t.Context(), w, 2)}
		a.setHold(false)
		close(a.release)
		requireStored(t, 0, first)
		for i, answer := range queued {
			requireStored(t, i+1, answer)
		}
		require.Equal(t, []int{1, 2}, a.sizes())

		// The next append waits for company, and one that comes within
		// the gather shares its commit.
		start := time.Now()
		alone := appendAsync(t.Context(), w, 3)
		time.Sleep(gather / 2)
		company := appendAsync(t.Context(), w, 4)
		requireStored(t, 3, alone)
		requireStored(t, 4, company)
		assert.Equal(t, gather, time.Since(start), "the commit waited the whole gather")
		assert.Equal(t, []int{1, 2, 2}, a.sizes())

		// A batch that fills up before the gather ends commits at once.
		start = time.Now()
		answers := []<-chan result{appendAsync(t.Context(), w, 5), appendAsync(t.Context(), w, 6), appendAsync(t.Context(), w, 7)}
		for i, answer := range answers {
			requireStored(t, i+5, answer)
		}
		assert.Zero(t, time.Since(start), "a full batch waited")
		assert.Equal(t, []int{1, 2, 2, 3}, a.sizes())

		// Once a commit held one append again, the next is not held back.
		start = time.Now()
		requireStored(t, 8, appendAsync(t.Context(), w, 8)) // waits: the last commit held three
		assert.Equal(t, gather, time.Since(start))
		start = time.Now()
		requireStored(t, 9, appendAsync(t.Context(), w, 9))
		assert.Zero(t, time.Since(start), "a lone append waited for company")
		assert.Equal(t, []int{1, 2, 2, 3, 1, 1}, a.sizes())
	})
}

func TestAppendAndContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// cancel ends the second append's context: "before" the call,
		// "waiting" while the writer is busy with the first append,
		// "taken" while the writer commits the second append itself.
		cancel        string
		wantCommitted [][]string
	}{
		{name: "a context ended before the call lets nothing through", cancel: "before", wantCommitted: [][]string{clientIDs(0)}},
		{name: "a context that ends before the writer takes the append stores nothing", cancel: "waiting", wantCommitted: [][]string{clientIDs(0)}},
		{name: "a context that ends after the writer took the append is committed anyway", cancel: "taken", wantCommitted: [][]string{clientIDs(0), clientIDs(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				a := newApplier(true)
				w := start(t, a, batch.Options{})
				first := appendAsync(t.Context(), w, 0) // the writer now holds its batch

				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				switch tt.cancel {
				case "before":
					cancel()
					_, _, err := w.Append(ctx, msg(1))
					require.ErrorIs(t, err, context.Canceled)
					close(a.release)
				case "waiting":
					second := appendAsync(ctx, w, 1)
					cancel()
					require.ErrorIs(t, (<-second).err, context.Canceled)
					close(a.release)
				case "taken":
					second := appendAsync(ctx, w, 1)
					a.release <- struct{}{} // first is answered; the writer takes second
					synctest.Wait()
					require.Equal(t, [][]string{clientIDs(0), clientIDs(1)}, a.committed(), "the writer holds second")
					cancel()
					require.ErrorIs(t, (<-second).err, context.Canceled)
					close(a.release)
				}
				requireStored(t, 0, first)
				w.Close() // every batch has been applied
				assert.Equal(t, tt.wantCommitted, a.committed())
			})
		})
	}
}

func TestOnCommitIsToldOfTheCreatedMessagesBeforeTheAppendsAreAnswered(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		told := make(chan []wire.Message)
		release := make(chan struct{})
		w := start(t, newApplier(false), batch.Options{OnCommit: func(msgs []wire.Message) {
			told <- msgs
			<-release
		}})

		answer := appendAsync(t.Context(), w, 0)
		msgs := <-told
		require.Len(t, msgs, 1)
		assert.Equal(t, "c0", msgs[0].ClientID)
		synctest.Wait()
		assert.Empty(t, answer, "the append was answered before OnCommit returned")
		close(release)
		requireStored(t, 0, answer)
	})
}

func TestAFailedBatchFailsEveryAppendOfIt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		diskFull := errors.New("disk full")
		a := newApplier(true)
		a.fail = func(ids []string) error {
			if slices.Contains(ids, "c2") {
				return diskFull
			}
			return nil
		}
		var logged bytes.Buffer
		var told [][]wire.Message
		w := start(t, a, batch.Options{
			Name:     "test",
			OnCommit: func(msgs []wire.Message) { told = append(told, msgs) },
			Logger:   slog.New(slog.NewTextHandler(&logged, nil)),
		})

		first := appendAsync(t.Context(), w, 0)
		failing := []<-chan result{appendAsync(t.Context(), w, 1), appendAsync(t.Context(), w, 2)}
		close(a.release)
		requireStored(t, 0, first)
		for _, answer := range failing {
			got := <-answer
			require.ErrorIs(t, got.err, diskFull)
			assert.EqualError(t, got.err, "failed to append to the test store: disk full")
			assert.Equal(t, result{err: got.err}, got, "no message from a failed batch")
		}
		assert.Contains(t, logged.String(), `msg="test: append batch failed" appends=2 err="disk full"`)
		require.Len(t, told, 1, "OnCommit told of a failed batch")

		requireStored(t, 3, appendAsync(t.Context(), w, 3)) // the next batch commits
	})
}

func TestClose(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a := newApplier(true)
		w := start(t, a, batch.Options{})
		first := appendAsync(t.Context(), w, 0) // the writer now holds its batch
		pending := []<-chan result{appendAsync(t.Context(), w, 1), appendAsync(t.Context(), w, 2)}

		closed := make(chan struct{})
		go func() {
			w.Close()
			close(closed)
		}()
		close(a.release)
		<-closed
		for n, answer := range append([]<-chan result{first}, pending...) {
			requireStored(t, n, answer) // handed over before Close: committed
		}
		assert.Equal(t, [][]string{clientIDs(0), clientIDs(1, 2)}, a.committed())

		_, _, err := w.Append(t.Context(), msg(3))
		require.ErrorIs(t, err, store.ErrClosed)
		w.Close() // again: returns at once
		assert.Equal(t, [][]string{clientIDs(0), clientIDs(1, 2)}, a.committed(), "nothing committed after Close")
	})
}
