//go:build !wasm

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The abuser runs in a process of its own, a child of the harness pinned
// to the same core: in the load generator's process (GOMAXPROCS=1) a
// goroutine reading a replay that is always ready would hold the only P
// for up to the scheduler's 10 ms slice, and the normal users' latency
// would grow in the harness, not in the server. Two processes share the
// core through the kernel, and the abuser's runs at nice 10, so the load
// generator has the core whenever it wants it.

// envAbuserToken carries the abuser's token to its process.
const envAbuserToken = "BENCH_ABUSER_TOKEN"

// abuseWorker is the abuser's process, seen from the harness. It says
// "started" once the abuse runs, stops asking for more on a "stop" line,
// and on the end of its standard input closes everything and says
// "counts <JSON>".
type abuseWorker struct{ *child }

// startAbuseWorker runs the abuser against url in a child process and
// waits until it has started.
func startAbuseWorker(url, token string, rooms, history []string, heads map[string]int64) (*abuseWorker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("failed to find the harness's binary: %w", err)
	}
	argv := []string{self, "-abuse-worker", "-worker-url", url,
		"-abuse-rooms", formatHeads(rooms, heads), "-abuse-history-rooms", formatHeads(history, heads)}
	// Niced, it yields the core to the load generator whenever both want
	// it (nice execs it in place: the pid is the abuser's).
	if nice, err := exec.LookPath("nice"); err == nil {
		argv = append([]string{nice, "-n", "10"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), envAbuserToken+"="+token)
	c, err := startChild(cmd, "abuser", 1<<20)
	if err != nil {
		return nil, err
	}
	w := &abuseWorker{c}
	if _, err := w.next("started", 30*time.Second); err != nil {
		w.kill()
		return nil, err
	}
	return w, nil
}

// next waits for the worker's line that starts with word and returns the
// rest of it.
func (w *abuseWorker) next(word string, timeout time.Duration) (string, error) {
	line, err := w.line(word, timeout)
	if err != nil {
		return "", err
	}
	rest, found := strings.CutPrefix(line, word)
	if !found {
		return "", fmt.Errorf("the abuser said %.200q, not %q", line, word)
	}
	return strings.TrimSpace(rest), nil
}

// stop ends the abuser's new work; it holds what it has until close.
func (w *abuseWorker) stop() { io.WriteString(w.stdin, "stop\n") }

// close ends the abuser and returns what it got.
func (w *abuseWorker) close() (abuserCounts, error) {
	var c abuserCounts
	w.stdin.Close()
	rest, err := w.next("counts", time.Minute)
	if err != nil {
		w.kill()
		return c, err
	}
	if err := json.Unmarshal([]byte(rest), &c); err != nil {
		return c, fmt.Errorf("failed to read the abuser's counts: %w", err)
	}
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.kill()
	}
	return c, nil
}

func (w *abuseWorker) kill() {
	w.cmd.Process.Kill()
	<-w.done
}

// runAbuseWorker is the abuser's process: abuse url until standard input
// says "stop", hold on until it ends, then print the counts.
func runAbuseWorker(url, roomHeads, historyHeads string) error {
	raiseNoFile()
	rooms, heads, err := parseHeads(roomHeads)
	if err != nil {
		return err
	}
	history, hheads, err := parseHeads(historyHeads)
	if err != nil {
		return err
	}
	maps.Copy(heads, hheads)
	token := os.Getenv(envAbuserToken)
	if token == "" {
		return errors.New(envAbuserToken + " is not set")
	}
	a := newAbuser(url, token, rooms, history, heads)
	a.start()
	fmt.Println("started")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "stop" {
			a.stop()
		}
	}
	out, err := json.Marshal(a.close())
	if err != nil {
		return fmt.Errorf("failed to write the counts: %w", err)
	}
	fmt.Printf("counts %s\n", out)
	return nil
}

// formatHeads writes rooms and their heads as one flag: "ab0=500,ab1=500".
func formatHeads(rooms []string, heads map[string]int64) string {
	parts := make([]string, len(rooms))
	for i, r := range rooms {
		parts[i] = r + "=" + strconv.FormatInt(heads[r], 10)
	}
	return strings.Join(parts, ",")
}

// parseHeads reads formatHeads's flag back, the rooms in order.
func parseHeads(s string) ([]string, map[string]int64, error) {
	var rooms []string
	heads := map[string]int64{}
	for part := range strings.SplitSeq(s, ",") {
		room, head, ok := strings.Cut(part, "=")
		n, err := strconv.ParseInt(head, 10, 64)
		if !ok || room == "" || err != nil || n < 0 {
			return nil, nil, fmt.Errorf("failed to read the abuser's rooms: %q is not room=head", part)
		}
		rooms = append(rooms, room)
		heads[room] = n
	}
	return rooms, heads, nil
}
