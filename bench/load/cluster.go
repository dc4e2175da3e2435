//go:build !wasm

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/store/postgres/pgtest"
)

// One process may open no more files than its limit, one per socket, so
// past that limit the harness holds connections the way tether scales:
// several nodes sharing a PostgreSQL database (docs/SCALING.md), each
// driven by a load-generating process of its own.

// clusterResult is the hold phase over several tether nodes on this machine.
type clusterResult struct {
	Nodes            int        `json:"nodes"`
	Requested        int        `json:"requested"`
	Held             int        `json:"held"`
	OpenSeconds      float64    `json:"open_seconds"`
	KiBPerConnection float64    `json:"kib_per_connection"`
	PerNode          []nodeHold `json:"per_node"`
}

type nodeHold struct {
	Held           int     `json:"held"`
	BaselineRSSKiB float64 `json:"baseline_rss_kib"`
	RSSKiB         float64 `json:"rss_kib"`
}

// runClusterHold holds n idle connections (rooms of two, both members on
// one node) spread evenly over nodes tether processes that share a
// throwaway PostgreSQL cluster, for settle, and measures what each node's
// resident memory grew by.
func runClusterHold(c config, env []string, tmp string, nodes, n int, settle time.Duration) (clusterResult, error) {
	res := clusterResult{Nodes: nodes, Requested: n}
	pg, err := pgtest.Start()
	if err != nil {
		return res, fmt.Errorf("failed to start PostgreSQL: %w", err)
	}
	defer pg.Stop()
	var servers []*serverProcess
	defer func() {
		for _, s := range servers {
			s.stop(30 * time.Second)
		}
	}()
	for i := range nodes {
		s, err := startServer(fmt.Sprintf("tether node %d", i+1), c.serverCPU, env, c.tether,
			"-addr", "127.0.0.1:0", "-data", filepath.Join(tmp, fmt.Sprintf("node-%d", i+1)), "-store", pg.URL("postgres"))
		if err != nil {
			return res, err
		}
		servers = append(servers, s)
	}
	time.Sleep(2 * time.Second)
	res.PerNode = make([]nodeHold, nodes)
	for i, s := range servers {
		m, err := readMemory(s.Pid())
		if err != nil {
			return res, err
		}
		res.PerNode[i].BaselineRSSKiB = float64(m.RSS) / 1024
	}

	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	start := time.Now()
	var workers []*holdWorker
	defer func() {
		for _, w := range workers {
			w.stop()
		}
	}()
	for i, s := range servers {
		share := n / nodes
		if i < n%nodes {
			share++
		}
		w, err := startHoldWorker(self, env, s.URL, share, fmt.Sprintf("n%d-", i+1))
		if err != nil {
			return res, err
		}
		workers = append(workers, w)
	}
	for i, w := range workers {
		opened, err := w.opened()
		if err != nil {
			return res, fmt.Errorf("failed to open node %d's connections: %w", i+1, err)
		}
		res.PerNode[i].Held = opened
	}
	res.OpenSeconds = round1(time.Since(start).Seconds())
	log.Printf("cluster: %d connections open over %d nodes in %.1f s; holding them %v", sumHeld(res.PerNode), nodes, res.OpenSeconds, settle)
	time.Sleep(settle)
	var grew float64
	for i, s := range servers {
		m, err := readMemory(s.Pid())
		if err != nil {
			return res, err
		}
		res.PerNode[i].RSSKiB = float64(m.RSS) / 1024
		grew += res.PerNode[i].RSSKiB - res.PerNode[i].BaselineRSSKiB
		if !s.alive() {
			return res, fmt.Errorf("node %d died while holding the connections:\n%s", i+1, s.Output())
		}
	}
	for i, w := range workers {
		held, err := w.held()
		if err != nil {
			return res, fmt.Errorf("failed to hold node %d's connections: %w", i+1, err)
		}
		res.PerNode[i].Held = held
	}
	res.Held = sumHeld(res.PerNode)
	if res.Held > 0 {
		res.KiBPerConnection = round1(grew / float64(res.Held))
	}
	return res, nil
}

func sumHeld(nodes []nodeHold) int {
	total := 0
	for _, n := range nodes {
		total += n.Held
	}
	return total
}

// holdWorker is a child process of the harness holding one node's share.
// It says "opened N" once its connections are open and "held N" once its
// standard input closes, then exits.
type holdWorker struct{ *child }

func startHoldWorker(self string, env []string, url string, n int, prefix string) (*holdWorker, error) {
	cmd := exec.Command(self, "-hold-worker", "-worker-url", url, "-worker-conns", strconv.Itoa(n), "-worker-prefix", prefix)
	cmd.Env = append(os.Environ(), env...)
	c, err := startChild(cmd, "worker", bufio.MaxScanTokenSize)
	if err != nil {
		return nil, err
	}
	return &holdWorker{c}, nil
}

// next waits for the worker's line that starts with word and returns its
// number.
func (w *holdWorker) next(word string, timeout time.Duration) (int, error) {
	line, err := w.line(word, timeout)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != word {
		return 0, fmt.Errorf("the worker said %q, not %q", line, word)
	}
	v, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("the worker said %q", line)
	}
	if len(f) > 2 {
		log.Printf("cluster worker: %s", line)
	}
	return v, nil
}

func (w *holdWorker) opened() (int, error) { return w.next("opened", 5*time.Minute) }

func (w *holdWorker) held() (int, error) {
	w.stdin.Close()
	return w.next("held", time.Minute)
}

func (w *holdWorker) stop() {
	w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
	}
}

// runHoldWorker is the worker's side: open n connections to url, report,
// hold them until standard input closes, report how many are still open.
func runHoldWorker(url string, n int, prefix string) error {
	raiseNoFile()
	secret := os.Getenv(auth.EnvSecret)
	a, err := auth.New([]byte(secret), auth.Options{})
	if err != nil {
		return err
	}
	token := func(user, room string) (string, error) {
		return a.Issue(wire.User{ID: prefix + user, Name: user, Role: wire.RoleCustomer}, []string{room}, 24*time.Hour)
	}
	p := newPool(tetherProtocol{}, url, token)
	defer p.close()
	err = p.open(context.Background(), n, 32, pairs(prefix+"h"))
	opened := len(p.Conns())
	if err != nil {
		fmt.Printf("opened %d (stopped: %s)\n", opened, strings.ReplaceAll(err.Error(), "\n", " "))
	} else {
		fmt.Printf("opened %d\n", opened)
	}
	io.Copy(io.Discard, os.Stdin)
	fmt.Printf("held %d\n", opened-int(p.sink.closed.Load()))
	return nil
}
