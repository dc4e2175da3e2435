//go:build !wasm

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// durablePeerProtocol is the peer with its history in Redis, under a name of
// its own.
type durablePeerProtocol struct{ centrifugeProtocol }

func (durablePeerProtocol) Name() string { return "peer-redis" }

// startRedis runs a Redis server for the durable peer on a unix socket in
// dir, pinned like the servers: an append-only file synced before every
// reply (appendfsync always), as tether syncs each commit before its acks,
// and no snapshots.
func startRedis(cpus, dir string) (*serverProcess, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("redis-server is not installed (make bench installs Debian's): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	sock := filepath.Join(dir, "redis.sock")
	argv := []string{bin, "--port", "0", "--unixsocket", sock, "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", ""}
	if cpus != "" {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{taskset, "-c", cpus}, argv...)
		}
	}
	p := &serverProcess{name: "redis", exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = (*processLog)(p), (*processLog)(p)
	if err := p.cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("failed to start redis: %w", err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return p, "unix://" + sock, nil
		}
		if !p.alive() || time.Now().After(deadline) {
			p.stop(5 * time.Second)
			return nil, "", fmt.Errorf("redis did not listen on %s:\n%s", sock, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
