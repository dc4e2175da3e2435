//go:build !wasm

package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/store/sqlite"
)

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
