//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/internal/servertest"
)

// lineBuffer collects a process's output and tells waiters when more comes.
// It is the process's Stdout itself, so exec's copying goroutine finishes
// before Wait returns and no read races with the pipe being closed.
type lineBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func newLineBuffer() *lineBuffer { return &lineBuffer{written: make(chan struct{}, 1)} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.written <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLine returns the first complete line that starts with prefix.
func (b *lineBuffer) waitForLine(t *testing.T, prefix string, exited <-chan struct{}, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		for line := range strings.Lines(b.String()) {
			if strings.HasPrefix(line, prefix) && strings.HasSuffix(line, "\n") {
				return strings.TrimSuffix(line, "\n")
			}
		}
		select {
		case <-b.written:
		case <-exited:
			t.Fatalf("the server exited before printing %q; output:\n%s", prefix, b.String())
		case <-deadline:
			t.Fatalf("no %q line after %v; output:\n%s", prefix, timeout, b.String())
		}
	}
}

// The binary is what `make run` starts: it must find its files inside
// itself wherever it runs, and shut down cleanly on Ctrl-C or a stop from
// the service manager.
func TestBinaryServesFromAnyFolderAndStopsOnSignal(t *testing.T) {
	t.Parallel()
	bin := serverBinary(t)

	tests := []struct {
		name   string
		signal syscall.Signal
	}{
		{name: "SIGINT (Ctrl-C) shuts it down with exit code 0", signal: syscall.SIGINT},
		{name: "SIGTERM shuts it down with exit code 0", signal: syscall.SIGTERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A folder with no web/ in it, and the data elsewhere.
			workDir := t.TempDir()
			dataDir := filepath.Join(t.TempDir(), "data")
			cmd := exec.CommandContext(t.Context(), bin, "-addr", "127.0.0.1:0", "-data", dataDir, "-dev")
			cmd.Dir = workDir
			stdout := newLineBuffer()
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = stdout, &stderr
			require.NoError(t, cmd.Start())
			exited := make(chan struct{})
			var waitErr error
			go func() { waitErr = cmd.Wait(); close(exited) }()
			t.Cleanup(func() {
				// Only on failure is the process still running; the context
				// kills it as the test ends, and this waits for that.
				<-exited
			})

			line := stdout.waitForLine(t, "tether serving ", exited, 30*time.Second)
			url := strings.TrimSuffix(strings.TrimPrefix(line, "tether serving "), "/")
			require.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, url)

			res, body := get(t, url+"/web/app.css")
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.NotEmpty(t, body)
			assert.DirExists(t, dataDir, "-data was not used")
			assert.NoDirExists(t, filepath.Join(workDir, "data"), "the default data folder was used")

			require.NoError(t, cmd.Process.Signal(tt.signal))
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				t.Fatalf("the server did not exit within 15 s of %v; stderr:\n%s", tt.signal, stderr.String())
			}
			var exitErr *exec.ExitError
			if errors.As(waitErr, &exitErr) {
				t.Fatalf("exit code %d after %v; stderr:\n%s", exitErr.ExitCode(), tt.signal, stderr.String())
			}
			require.NoError(t, waitErr)
			assert.Contains(t, stderr.String(), "shutting down")
		})
	}
}

// serverBinary is the server built once for the tests that run it as a
// process of its own.
func serverBinary(t *testing.T) string {
	t.Helper()
	requireWasm(t)
	return servertest.Binary(t)
}

// startServer runs the binary on a free port and waits for its URL.
func startServer(t *testing.T, dataDir string, args ...string) *servertest.Process {
	t.Helper()
	requireWasm(t)
	return servertest.Start(t, servertest.Options{DataDir: dataDir, Args: args})
}

func devToken(t *testing.T, base, room, user string) string {
	t.Helper()
	res, err := http.Get(base + "/api/dev/token?room=" + room + "&user=" + user + "&role=customer")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var tok wire.DevToken
	require.NoError(t, json.NewDecoder(res.Body).Decode(&tok))
	return tok.Token
}

// A message acked to its sender must survive the server being killed
// outright: the client saw the ack, so it will never send it again.
func TestAckedMessagesSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := startServer(t, dataDir, "-dev")
	const room = "crash-room"
	token := devToken(t, p.URL, room, "casey")

	type acked struct {
		clientID string
		seq      int64
	}
	var (
		mu    sync.Mutex
		acks  []acked
		wg    sync.WaitGroup
		stop  = make(chan struct{})
		first = make(chan struct{})
		once  sync.Once
	)
	client := &http.Client{Timeout: 5 * time.Second}
	// Four senders post until the server dies; what was acked is recorded.
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				body := strings.NewReader(fmt.Sprintf(`{"client_id":%q,"body":"message %s"}`, id, id))
				req, _ := http.NewRequest(http.MethodPost, p.URL+"/api/rooms/"+room+"/messages", body)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				var posted wire.Posted
				decodeErr := json.NewDecoder(res.Body).Decode(&posted)
				res.Body.Close()
				if res.StatusCode == http.StatusTooManyRequests {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				if res.StatusCode != http.StatusCreated || decodeErr != nil {
					return
				}
				mu.Lock()
				acks = append(acks, acked{id, posted.Seq})
				n := len(acks)
				mu.Unlock()
				if n >= 20 {
					once.Do(func() { close(first) })
				}
			}
		})
	}
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		t.Fatal("no 20 acks within 20 s")
	}
	p.Kill()
	close(stop)
	wg.Wait()

	p2 := startServer(t, dataDir, "-dev")
	req, _ := http.NewRequest(http.MethodGet, p2.URL+"/api/rooms/"+room+"/messages?since=0&limit=500", nil)
	req.Header.Set("Authorization", "Bearer "+devToken(t, p2.URL, room, "casey"))
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var page wire.MessagesPage
	require.NoError(t, json.NewDecoder(res.Body).Decode(&page))

	stored := map[string]int64{}
	for i, m := range page.Messages {
		assert.Equal(t, int64(i+1), m.Seq, "seqs are dense and in order")
		stored[m.ClientID] = m.Seq
	}
	assert.Equal(t, int64(len(page.Messages)), page.Head)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, acks)
	for _, a := range acks {
		seq, ok := stored[a.clientID]
		if assert.True(t, ok, "acked message %s (seq %d) was lost", a.clientID, a.seq) {
			assert.Equal(t, a.seq, seq, "acked message %s moved", a.clientID)
		}
	}
	t.Logf("%d messages acked before the kill, %d stored after the restart", len(acks), len(page.Messages))
}

// Without -dev the server must not start with no secret: tokens signed with
// a guessable key would let anyone into any booking.
func TestProductionNeedsASecret(t *testing.T) {
	t.Parallel()
	bin := serverBinary(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", t.TempDir())
	cmd.Env = append(os.Environ(), "TETHER_SECRET=")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "the server started without a secret: %s", out)
	assert.NotEqual(t, 0, exitErr.ExitCode())
	assert.Contains(t, string(out), "TETHER_SECRET is not set")

	cmd = exec.Command(bin, "-addr", "127.0.0.1:0", "-data", t.TempDir())
	cmd.Env = append(os.Environ(), "TETHER_SECRET=short")
	out, err = cmd.CombinedOutput()
	require.ErrorAs(t, err, &exitErr, "the server started with a short secret: %s", out)
	assert.Contains(t, string(out), "at least 32")
}
