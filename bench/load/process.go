//go:build !wasm

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverProcess is a server the harness started: tether, the peer, or the
// go-app hello world.
type serverProcess struct {
	name   string
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}

	mu     sync.Mutex
	output strings.Builder

	// with are processes the server needs (the durable peer's Redis): their
	// CPU counts as the server's, and they stop after it.
	with []*serverProcess

	// MetricsURL is where tether serves its metrics (-metrics-addr, which
	// it prints before its URL); empty for the others.
	MetricsURL string
}

// cpu is the CPU time the server and the processes it needs have used.
func (p *serverProcess) cpu() (time.Duration, error) {
	total, err := readCPU(p.Pid())
	for _, w := range p.with {
		t, werr := readCPU(w.Pid())
		total += t
		err = errors.Join(err, werr)
	}
	return total, err
}

// cpuNow is the CPU time srv (with the processes it needs) and the harness
// have used so far; a time that cannot be read is zero.
func cpuNow(srv *serverProcess) (server, client time.Duration) {
	server, _ = srv.cpu()
	client, _ = readCPU(os.Getpid())
	return server, client
}

// measure has the pool's users record their latency in a new histogram for
// window, between two calls of take: what was counted before and after.
func measure[S any](p *pool, window time.Duration, take func() S) (before, after S, latency *histogram) {
	latency = &histogram{}
	p.sink.latency.Store(latency)
	before = take()
	time.Sleep(window)
	after = take()
	return before, after, latency
}

// servingLine is what each server prints once it listens; metricsLine is
// what tether prints before it when it serves metrics apart.
var (
	servingLine = regexp.MustCompile(`serving (http://[^\s/]+)`)
	metricsLine = regexp.MustCompile(`^tether metrics (http://\S+)`)
)

// startServer runs argv (pinned to cpus with taskset when cpus is set and
// taskset exists) and waits until it prints the URL it serves.
func startServer(name, cpus string, env []string, argv ...string) (*serverProcess, error) {
	if cpus != "" {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{taskset, "-c", cpus}, argv...)
		}
	}
	return startServerIn(name, "", env, argv...)
}

// startServerIn runs argv in dir and waits until it prints its URL.
func startServerIn(name, dir string, env []string, argv ...string) (*serverProcess, error) {
	p := &serverProcess{name: name, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = (*processLog)(p)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start %s: %w", name, err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			(*processLog)(p).Write([]byte(line + "\n"))
			if m := metricsLine.FindStringSubmatch(line); m != nil {
				p.MetricsURL = m[1] // before the serving line: read after found
				continue
			}
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.cmd.Wait(); close(p.exited) }()
	select {
	case p.URL = <-found:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before serving:\n%s", name, p.Output())
	case <-time.After(60 * time.Second):
		p.kill()
		return nil, fmt.Errorf("%s did not serve within 60 s:\n%s", name, p.Output())
	}
}

// Pid is the server's process id (taskset execs it in place).
func (p *serverProcess) Pid() int { return p.cmd.Process.Pid }

// Output is what the server printed, the last 8 KiB of it.
func (p *serverProcess) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.output.String()
	if len(s) > 8<<10 {
		s = "…" + s[len(s)-8<<10:]
	}
	return s
}

type processLog serverProcess

func (l *processLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.output.Len() > 1<<20 {
		return len(b), nil
	}
	return l.output.Write(b)
}

// stop asks the server to end (SIGTERM) and kills it after grace.
func (p *serverProcess) stop(grace time.Duration) error {
	defer func() {
		for _, w := range p.with {
			w.stop(grace)
		}
	}()
	select {
	case <-p.exited:
		return nil
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("%s did not stop within %v and was killed", p.name, grace)
	}
}

func (p *serverProcess) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// alive reports whether the process still runs.
func (p *serverProcess) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// pinSelf pins every thread of this process to cpus with taskset, so the
// load generator and the server do not share a core. It fails quietly when
// taskset is missing: the figures then say the cores were shared.
func pinSelf(cpus string) bool {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return false
	}
	return exec.Command(taskset, "-a", "-p", "-c", cpus, fmt.Sprint(os.Getpid())).Run() == nil
}

// raiseNoFile lifts this process's open-file limit to its hard limit; the
// servers it starts inherit it. It returns the limit in force.
func raiseNoFile() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	return l.Cur
}

func noFileHardLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Max
}

// runCommand runs a build step, its output going to the harness's.
func runCommand(ctx context.Context, dir string, env []string, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to run %s: %w", strings.Join(argv, " "), err)
	}
	return nil
}
