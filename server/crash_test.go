//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/internal/servertest"
)

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
