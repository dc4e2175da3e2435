//go:build !wasm

package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/sqlite"
	"tether/server/store/storetest"
)

// quiet keeps the migration log out of the test output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t *testing.T, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	s, err := sqlite.Open(path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

func newMessage(room, clientID string, n int) store.NewMessage {
	return store.NewMessage{
		Room:     room,
		ID:       fmt.Sprintf("%s-%s-%d", room, clientID, n),
		ClientID: clientID,
		Sender:   wire.User{ID: "u1", Name: "Ada", Role: wire.RoleCustomer},
		Body:     fmt.Sprintf("message %d", n),
		SentAt:   1_700_000_000_000 + int64(n),
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{})
	})
}

func TestBookingsConformance(t *testing.T) {
	t.Parallel()
	storetest.RunBookings(t, func(t *testing.T) store.Bookings {
		return open(t, filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{})
	})
}

func TestOnCommitGetsExactlyTheCreatedMessagesInSeqOrder(t *testing.T) {
	t.Parallel()
	var (
		mu        sync.Mutex
		committed []wire.Message
		inFlight  atomic.Int32
		overlap   atomic.Bool
	)
	s := open(t, filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{
		OnCommit: func(msgs []wire.Message) {
			if inFlight.Add(1) > 1 {
				overlap.Store(true)
			}
			defer inFlight.Add(-1)
			mu.Lock()
			committed = append(committed, msgs...)
			mu.Unlock()
		},
	})

	// Each client_id is sent twice, by two goroutines, into three rooms.
	rooms := []string{"a", "b", "c"}
	const perRoom = 40
	var createdMu sync.Mutex
	created := map[string]wire.Message{} // room/client_id -> the created message
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range perRoom {
				room := rooms[(w+i)%len(rooms)]
				m, isNew, err := s.Append(context.Background(), newMessage(room, fmt.Sprintf("c%d", i), w))
				if !assert.NoError(t, err) {
					return
				}
				if isNew {
					createdMu.Lock()
					created[room+"/"+m.ClientID] = m
					createdMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Close()) // the last OnCommit has run when Close returns

	assert.False(t, overlap.Load(), "OnCommit ran on two goroutines at once")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, committed, len(created), "OnCommit saw a message twice or missed one")
	last := map[string]int64{}
	for _, m := range committed {
		assert.Equal(t, last[m.Room]+1, m.Seq, "room %s out of order", m.Room)
		last[m.Room] = m.Seq
		assert.Equal(t, created[m.Room+"/"+m.ClientID], m)
	}
}

func TestABatchHoldsAtMostMaxBatchAppends(t *testing.T) {
	t.Parallel()
	const maxBatch = 4
	var largest atomic.Int64
	s := open(t, filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{
		MaxBatch: maxBatch,
		OnCommit: func(msgs []wire.Message) {
			if n := int64(len(msgs)); n > largest.Load() {
				largest.Store(n) // OnCommit runs on one goroutine at a time
			}
		},
	})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 10 {
				_, _, err := s.Append(context.Background(), newMessage("r", fmt.Sprintf("w%d-%d", w, i), i))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	head, err := s.Head(context.Background(), "r")
	require.NoError(t, err)
	assert.Equal(t, int64(160), head)
	assert.LessOrEqual(t, largest.Load(), int64(maxBatch))
	t.Logf("largest batch: %d", largest.Load())
}

func TestALoneAppendIsNeverHeldBackToGather(t *testing.T) {
	t.Parallel()
	var commits, largest atomic.Int64
	// With an hour to gather, any wait for company would hang the test.
	s := open(t, filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{
		Gather: time.Hour,
		OnCommit: func(msgs []wire.Message) {
			commits.Add(1)
			largest.Store(max(largest.Load(), int64(len(msgs))))
		},
	})
	for i := range 20 {
		_, _, err := s.Append(context.Background(), newMessage("r", fmt.Sprintf("c%d", i), i))
		require.NoError(t, err)
	}
	assert.Equal(t, int64(20), commits.Load(), "one commit per append, one caller at a time")
	assert.Equal(t, int64(1), largest.Load())
}

func TestAppendsUnderLoadGatherIntoFewerCommits(t *testing.T) {
	t.Parallel()
	var commits atomic.Int64
	s := open(t, filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{
		Gather:   50 * time.Millisecond,
		OnCommit: func([]wire.Message) { commits.Add(1) },
	})
	const callers, each = 8, 20
	var wg sync.WaitGroup
	for w := range callers {
		wg.Go(func() {
			for i := range each {
				_, _, err := s.Append(context.Background(), newMessage(fmt.Sprintf("r%d", w), fmt.Sprintf("c%d", i), i))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	for w := range callers {
		head, err := s.Head(context.Background(), fmt.Sprintf("r%d", w))
		require.NoError(t, err)
		assert.Equal(t, int64(each), head)
	}
	assert.Less(t, commits.Load(), int64(callers*each/2), "appends from many callers share commits")
	t.Logf("%d appends in %d commits", callers*each, commits.Load())
}

func TestAppendAndContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// cancelAfterTaken cancels once the writer has committed the
		// request, else while it still waits to be taken.
		cancelAfterTaken bool
		wantStored       bool
	}{
		{name: "a request cancelled before the writer takes it is not stored", cancelAfterTaken: false, wantStored: false},
		{name: "a request cancelled after the writer took it is stored anyway", cancelAfterTaken: true, wantStored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// OnCommit holds the writer on demand, so the test knows where
			// the request is.
			committing := make(chan string)
			release := make(chan struct{})
			s := open(t, filepath.Join(t.TempDir(), "tether.db"), sqlite.Options{
				OnCommit: func(msgs []wire.Message) {
					committing <- msgs[0].ClientID
					<-release
				},
			})
			first := make(chan error, 1)
			go func() {
				_, _, err := s.Append(context.Background(), newMessage("r", "first", 1))
				first <- err
			}()
			require.Equal(t, "first", <-committing) // the writer is now busy

			ctx, cancel := context.WithCancel(context.Background())
			second := make(chan error, 1)
			go func() {
				_, _, err := s.Append(ctx, newMessage("r", "second", 2))
				second <- err
			}()
			if tt.cancelAfterTaken {
				release <- struct{}{} // first is answered; the writer takes second
				require.Equal(t, "second", <-committing)
				cancel()
				require.ErrorIs(t, <-second, context.Canceled)
				release <- struct{}{}
			} else {
				time.Sleep(20 * time.Millisecond) // let second block on the busy writer
				cancel()
				require.ErrorIs(t, <-second, context.Canceled)
				release <- struct{}{}
			}
			require.NoError(t, <-first)

			msgs, err := s.After(context.Background(), "r", 0, 10)
			require.NoError(t, err)
			var ids []string
			for _, m := range msgs {
				ids = append(ids, m.ClientID)
			}
			if tt.wantStored {
				assert.Equal(t, []string{"first", "second"}, ids)
			} else {
				assert.Equal(t, []string{"first"}, ids)
			}
		})
	}
}

func TestReopenKeepsEveryMessageAndContinuesTheSeqs(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tether.db")
	ctx := context.Background()
	s, err := sqlite.Open(path, sqlite.Options{Logger: quiet})
	require.NoError(t, err)
	var before []wire.Message
	for i := range 20 {
		m, _, err := s.Append(ctx, newMessage([]string{"a", "b"}[i%2], fmt.Sprintf("c%d", i), i))
		require.NoError(t, err)
		before = append(before, m)
	}
	require.NoError(t, s.Close())

	s = open(t, path, sqlite.Options{})
	storetest.AssertHolds(t, s, before)
	// Idempotency survives the restart: a retry still finds its message.
	again, created, err := s.Append(ctx, newMessage("a", "c0", 99))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, before[0], again)
	next, created, err := s.Append(ctx, newMessage("a", "new", 100))
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, int64(11), next.Seq)
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr string
	}{
		{
			name: "a database newer than this code is refused",
			prepare: func(t *testing.T, path string) {
				s, err := sqlite.Open(path, sqlite.Options{Logger: quiet})
				require.NoError(t, err)
				require.NoError(t, s.Close())
				db, err := sql.Open("sqlite", path)
				require.NoError(t, err)
				defer db.Close()
				_, err = db.Exec("PRAGMA user_version = 99")
				require.NoError(t, err)
			},
			wantErr: "schema version 99 is newer than this build",
		},
		{
			name: "a file that is not a database is refused",
			prepare: func(t *testing.T, path string) {
				require.NoError(t, os.WriteFile(path, []byte("definitely not a database, just long enough to have a header"), 0o600))
			},
			wantErr: "not a database",
		},
		{
			name:    "a path in a missing folder is refused",
			prepare: func(t *testing.T, path string) { require.NoError(t, os.Remove(filepath.Dir(path))) },
			wantErr: "unable to open",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "sub", "tether.db")
			require.NoError(t, os.Mkdir(filepath.Dir(path), 0o700))
			tt.prepare(t, path)
			s, err := sqlite.Open(path, sqlite.Options{Logger: quiet})
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, s)
		})
	}
}

func TestOpenTakesAPathWithURICharacters(t *testing.T) {
	t.Parallel()
	// A folder name with URI syntax must not turn into query parameters.
	dir := filepath.Join(t.TempDir(), "a?b=c#d%20e")
	require.NoError(t, os.Mkdir(dir, 0o700))
	path := filepath.Join(dir, "tether.db")
	s := open(t, path, sqlite.Options{})
	_, _, err := s.Append(context.Background(), newMessage("r", "c", 1))
	require.NoError(t, err)
	assert.FileExists(t, path)
}

// crashEnv names the database TestHelperProcess appends to; unset, the
// helper does nothing.
const crashEnv = "TETHER_SQLITE_CRASH_DB"

// TestHelperProcess is the process TestAnAckedMessageSurvivesAKill kills: it
// appends from several goroutines and prints "acked <seq> <client_id>" once
// each Append has returned, until it is killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("only run by TestAnAckedMessageSurvivesAKill")
	}
	s, err := sqlite.Open(path, sqlite.Options{Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// A safety net should the parent die without killing us.
	time.AfterFunc(30*time.Second, func() { os.Exit(3) })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				clientID := fmt.Sprintf("w%d-%d", w, i)
				m, _, err := s.Append(context.Background(), newMessage("crash", clientID, i))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				// One write per line, shorter than PIPE_BUF: lines from
				// several goroutines never interleave.
				fmt.Fprintf(os.Stdout, "acked %d %s\n", m.Seq, clientID)
			}
		})
	}
	wg.Wait()
}

func TestAnAckedMessageSurvivesAKill(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tether.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// Whatever happens below, a failed require included, the helper does
	// not outlive the test; and should its output stall, the scan ends.
	guard := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
	t.Cleanup(func() {
		guard.Stop()
		_ = cmd.Process.Kill() // an error once it is dead already
	})

	// Kill it mid-stream: after enough acks to span many batches, or after a
	// while on a slow disk, never between two appends on purpose.
	const enough = 300
	deadline := time.Now().Add(2 * time.Second)
	acked := map[int64]string{} // seq -> client_id
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var seq int64
		var clientID string
		if _, err := fmt.Sscanf(sc.Text(), "acked %d %s", &seq, &clientID); err != nil {
			continue // the test framework's own lines
		}
		require.NotContains(t, acked, seq, "seq %d acked twice", seq)
		acked[seq] = clientID
		if !killed && (len(acked) >= enough || time.Now().After(deadline)) {
			require.NoError(t, cmd.Process.Kill()) // SIGKILL: no deferred code, no Close
			killed = true
		}
	}
	// Lines still in the pipe when the kill landed were read above: they
	// were acked too.
	waitErr := cmd.Wait()
	require.True(t, killed, "the helper ended on its own: %v\n%s", waitErr, stderr.String())
	require.NotEmpty(t, acked, "the helper acked nothing: %s", stderr.String())

	s := open(t, path, sqlite.Options{})
	head, err := s.Head(context.Background(), "crash")
	require.NoError(t, err)
	got, err := s.After(context.Background(), "crash", 0, int(head)+10)
	require.NoError(t, err)
	require.Len(t, got, int(head), "the stored seqs are not 1..head")
	for i, m := range got {
		require.Equal(t, int64(i+1), m.Seq, "gap before seq %d", m.Seq)
	}
	for seq, clientID := range acked {
		require.LessOrEqual(t, seq, head, "acked seq %d is lost (head %d)", seq, head)
		assert.Equal(t, clientID, got[seq-1].ClientID, "seq %d", seq)
	}
	// Appends that committed but were not acked before the kill may be
	// there too; fewer than acked would be a loss.
	t.Logf("acked %d, stored %d", len(acked), head)
	assert.True(t, strings.HasPrefix(waitErr.Error(), "signal: killed"), "wait: %v", waitErr)
}
