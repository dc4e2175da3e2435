//go:build unix

package main

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
