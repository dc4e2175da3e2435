//go:build !wasm

// Package pgtest runs a throwaway PostgreSQL cluster for the tests of a
// package: started on first use by initdb in a temporary folder, listening
// only on a unix socket there, and stopped and removed when the package's
// tests end. Every test gets a database of its own.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.NewDatabase(t)
//		...
//	}
//
// The server binaries come from TETHER_PG_BIN when it is set, else from the
// PATH, `pg_config --bindir` or Debian's /usr/lib/postgresql/<version>/bin;
// `make test` installs them. Without them a test fails when the CI variable
// is set and is skipped otherwise.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the cluster's superuser; the socket trusts every local user,
// so tests connect as it without a password.
const superuser = "tether"

var (
	startOnce sync.Once
	cluster   *Cluster
	startErr  error
	databases atomic.Int64
)

// Main runs the package's tests, then the after functions (other
// cleanups of the package's), stops the cluster if a test started it, and
// exits with the tests' code.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// NewDatabase creates an empty database in the package's cluster, starting
// the cluster on first use, and returns its connection URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), databases.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	// FILE_COPY copies the template's few files instead of writing them all
	// to the WAL: much faster for a fresh, tiny database.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" STRATEGY FILE_COPY"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return c.URL(name)
}

// Connect opens a connection of its own to the database at url, for what a
// test does behind a store's back; it is closed when t ends.
func Connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Shared returns the package's cluster, starting it on first use. Without
// PostgreSQL binaries it fails the test in CI and skips it elsewhere.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	startOnce.Do(func() { cluster, startErr = Start() })
	if errors.Is(startErr, ErrNotInstalled) {
		msg := fmt.Sprintf("pgtest: %v: run `make test` (it installs Debian's postgresql package)", startErr)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	return cluster
}

// ErrNotInstalled means that initdb and pg_ctl were not found.
var ErrNotInstalled = errors.New("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir    string // the temporary folder: data/, the socket, the log
	bin    string
	cred   *syscall.Credential // who runs the server; nil for the current user
	stopMu sync.Mutex
	done   bool
}

// Start creates and starts a cluster in a new temporary folder.
func Start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	reapStale(bin)
	c := &Cluster{bin: bin}
	// PostgreSQL refuses to run as root: as root, run it as an unprivileged
	// system user, which must own the folder.
	if os.Geteuid() == 0 {
		if c.cred, err = serverUser(); err != nil {
			return nil, err
		}
	}
	if c.dir, err = os.MkdirTemp("", "tether-pg-"); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(c.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(c.dir)
			return nil, err
		}
	}
	if err := c.start(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start() error {
	data := filepath.Join(c.dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", superuser, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return fmt.Errorf("failed to run initdb: %w: %s", err, out)
	}
	// Durability is pointless for a cluster thrown away after the tests;
	// no TCP at all, so two packages' clusters never fight over a port.
	conf := strings.Join([]string{
		"listen_addresses = ''",
		"unix_socket_directories = '" + c.dir + "'",
		"max_connections = 300",
		"shared_buffers = 32MB",
		"fsync = off",
		"synchronous_commit = off",
		"full_page_writes = off",
		"log_min_messages = warning",
		"",
	}, "\n")
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(conf)
	if err := errors.Join(err, f.Close()); err != nil {
		return err
	}
	if out, err := c.run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(c.dir, "server.log")); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("failed to run pg_ctl start: %w: %s\n%s", err, out, log)
	}
	return nil
}

// ownerFile holds the pid of the test process that started a cluster.
const ownerFile = "owner.pid"

// reapStale stops and removes the clusters of test processes that died
// without stopping theirs (killed, or a test timeout's panic, which skips
// Main's cleanup): the server outlives them otherwise.
func reapStale(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "tether-pg-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // another process is still creating it, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		st, err := os.Stat(dir)
		if err != nil {
			continue
		}
		stale := &Cluster{dir: dir, bin: bin}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && sys.Uid != 0 {
			stale.cred = &syscall.Credential{Uid: sys.Uid, Gid: sys.Gid, NoSetGroups: true}
		}
		stale.Stop()
	}
}

// URL is the connection URL of database on the cluster's socket.
func (c *Cluster) URL(database string) string {
	q := url.Values{"host": {c.dir}, "user": {superuser}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", Path: "/" + database, RawQuery: q.Encode()}).String()
}

// Stop stops the server at once (its data is thrown away) and removes the
// folder. Calling it again does nothing.
func (c *Cluster) Stop() error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.done || c.dir == "" {
		return nil
	}
	c.done = true
	var err error
	data := filepath.Join(c.dir, "data")
	if _, statErr := os.Stat(filepath.Join(data, "postmaster.pid")); statErr == nil {
		if out, runErr := c.run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", data); runErr != nil {
			err = fmt.Errorf("failed to run pg_ctl stop: %w: %s", runErr, out)
		}
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

// run runs one of the server binaries as the cluster's user.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	// LC_ALL=C: initdb checks the locale even with --no-locale.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	out, err := cmd.CombinedOutput()
	return out, err
}

// findBin finds the folder of initdb and pg_ctl.
func findBin() (string, error) {
	// TETHER_PG_BIN names the folder outright: for a PostgreSQL installed
	// elsewhere, or none at all (an empty folder) to check what the tests do
	// without one.
	if dir, ok := os.LookupEnv("TETHER_PG_BIN"); ok {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
		return "", ErrNotInstalled
	}
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	// Debian keeps the server binaries out of the PATH, one folder per
	// major version: the newest first.
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(debian, func(i, j int) bool { return majorOf(debian[i]) > majorOf(debian[j]) })
	dirs = append(dirs, debian...)
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			// A symlink in the PATH (as /usr/local/bin/initdb may be) would
			// make pg_ctl look for postgres beside the link: use the target.
			if real, err := filepath.EvalSymlinks(filepath.Join(d, "initdb")); err == nil {
				d = filepath.Dir(real)
			}
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// serverUser is the system user that runs the server when the tests run as
// root: Debian's postgres when the package made it, else nobody.
func serverUser() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("running as root and no postgres or nobody user to run PostgreSQL as")
}
