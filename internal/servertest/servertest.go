//go:build !wasm

// Package servertest runs the real server binary for tests that need a
// process of its own: to kill it, restart it on the same data, or signal it.
package servertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/syncbuf"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// moduleRoot is the repository root, found from this file's place.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Binary builds ./server once per test process and returns its path. The
// embedded web/app.wasm must exist (`make wasm`).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root := moduleRoot()
		if _, err := os.Stat(filepath.Join(root, "web", "app.wasm")); err != nil {
			buildErr = fmt.Errorf("web/app.wasm is missing: run `make wasm` first (make test does): %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "tether-servertest-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "tether")
		cmd := exec.Command("go", "build", "-o", binary, "./server")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("failed to build ./server: %w: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// Main runs a package's tests, then removes the binary Binary built: a
// package that uses Binary calls it from TestMain, or RemoveBinary after
// its own.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBinary()
	os.Exit(code)
}

// RemoveBinary deletes the binary Binary built, and its folder: 40 MB a
// test run otherwise left behind.
func RemoveBinary() {
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
}

// FreeAddr returns a loopback address with a port free right now, for a
// server that must come back on the same address after a restart.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Options say how to start the server.
type Options struct {
	Addr    string   // default: a free loopback port
	DataDir string   // default: a new temporary folder
	Args    []string // more flags, e.g. -dev, -faults
	Env     []string // more environment, e.g. TETHER_SECRET=…
}

// Process is a running server.
type Process struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	exited  chan struct{}
	output  syncbuf.Buffer
}

// Start runs the server and waits until it prints the URL it serves. It is
// killed when the test ends, if still running.
func Start(t testing.TB, o Options) *Process {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	p := &Process{DataDir: o.DataDir, exited: make(chan struct{})}
	p.cmd = exec.Command(Binary(t), append([]string{"-addr", o.Addr, "-data", o.DataDir}, o.Args...)...)
	p.cmd.Env = append(os.Environ(), o.Env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.output, &p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.Kill() })

	deadline := time.Now().Add(30 * time.Second)
	for {
		if line, ok := p.line("tether serving "); ok {
			p.URL = strings.TrimSuffix(strings.TrimPrefix(line, "tether serving "), "/")
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("the server exited before serving:\n%s", p.Output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not serve within 30 s:\n%s", p.Output())
		}
	}
}

// Output is what the server printed so far.
func (p *Process) Output() string {
	return p.output.String()
}

func (p *Process) line(prefix string) (string, bool) {
	for line := range strings.Lines(p.Output()) {
		if strings.HasPrefix(line, prefix) && strings.HasSuffix(line, "\n") {
			return strings.TrimSuffix(line, "\n"), true
		}
	}
	return "", false
}

// Kill stops the server at once (SIGKILL), as a crash would, and waits.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// Stop asks the server to shut down (SIGTERM) and waits up to 20 s.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Errorf("the server did not stop within 20 s of SIGINT:\n%s", p.Output())
		p.Kill()
	}
}

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }
