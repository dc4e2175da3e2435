//go:build !wasm

// Command server runs tether: it serves the browser bundle and the chat API.
//
//	go run ./server -dev
//
// tether booking create … makes a booking for an operator without a booking
// platform and prints its two invite links.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"tether/server/node"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "booking" {
		os.Exit(runBooking(os.Args[2:], os.Stdout, os.Stderr))
	}
	config, err := ParseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "tether:", err)
		os.Exit(2)
	}
	ensureSpareP()
	m := &Main{Config: config, Stdout: os.Stdout, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "tether:", err)
		os.Exit(1)
	}
	<-ctx.Done()
	stop() // a second Ctrl-C now kills the process at once
	m.Logger.Info("shutting down")
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "tether:", err)
		os.Exit(1)
	}
}

// ensureSpareP gives the Go scheduler at least two Ps unless GOMAXPROCS
// says otherwise. SQLite writes and syncs its file with blocking system
// calls; with a single P (a process allowed one CPU, by taskset or a
// container's limit) the goroutine in such a call holds it until the
// runtime notices, and every socket waits behind the disk: pinned to one
// core, the server fell behind at 2,000 messages a second with the core
// three-quarters idle. With a second P the sockets go on while the disk
// works; the CPU used stays within what the process is allowed.
func ensureSpareP() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
}

// Main and Config live in server/node so integration tests can run a server
// in their own process.
type (
	Main   = node.Main
	Config = node.Config
)

// ParseFlags reads the command line.
func ParseFlags(args []string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("tether", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Addr, "addr", "localhost:8080", "address to listen on (host:port; port 0 picks a free one)")
	fs.StringVar(&c.DataDir, "data", "./data", "folder of the server's data")
	fs.BoolVar(&c.Dev, "dev", false, "development mode: demo links and dev tokens; never in production")
	fs.BoolVar(&c.Faults, "faults", false, "serve the fault-injecting test backend at /api/test/faults; never in production")
	fs.BoolVar(&c.InsecurePublicDev, "insecure-public-dev", false, "let -dev and -faults listen on a non-loopback -addr (anyone who reaches it can mint tokens or cut connections); never in production")
	fs.StringVar(&c.Store, "store", "", "postgres://… URL of a PostgreSQL database shared by several nodes; empty keeps SQLite in -data")
	fs.StringVar(&c.AllowedOrigins, "allowed-origins", "", "extra Origin host patterns allowed to open WebSockets and call the API across origins, comma separated (e.g. app.example.com,*.example.com)")
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "address (host:port) to serve Go's profiles on, /debug/pprof/; empty serves none. Keep it private")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "address (host:port) to serve the Prometheus metrics on, /metrics; empty serves none. Keep it private")
	fs.StringVar(&c.AuthURL, "auth-url", "", "a platform's endpoint that hands the pages their tokens (GET with the platform's cookies, answering {\"token\":T}); empty uses tether's own sessions")
	fs.DurationVar(&c.TokenTTL, "token-ttl", 15*time.Minute, "how long the access tokens of sessions live (the pages renew them on the live socket at 80 %); at most 24h")
	fs.StringVar(&c.PublicOrigin, "public-origin", "", "origins the server is reached at, comma separated (e.g. https://chat.example.com); other Hosts get 421, except /healthz")
	if err := fs.Parse(args); err != nil {
		fs.SetOutput(os.Stderr)
		fs.Usage()
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.AuthURL != "" {
		if _, err := node.CheckAuthURL(c.AuthURL); err != nil {
			return Config{}, err
		}
	}
	if c.TokenTTL < 10*time.Second || c.TokenTTL > 24*time.Hour {
		return Config{}, fmt.Errorf("-token-ttl %s is out of range: from 10s to 24h", c.TokenTTL)
	}
	if err := c.CheckExposure(); err != nil {
		return Config{}, err
	}
	return c, nil
}
