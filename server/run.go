package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"tether/app"
	"tether/components"
	"tether/conn"
	"tether/server/api"
	"tether/server/bundle"
	"tether/wasm_exec"
	"tether/web"
)

// shutdownGrace bounds how long Close waits for requests in flight.
const shutdownGrace = 10 * time.Second

// Main is the tether server: Run starts it, Close stops it gracefully.
type Main struct {
	Config

	// Stdout receives the URLs to open; Logger everything else.
	Stdout io.Writer
	Logger *slog.Logger

	server    *http.Server
	served    chan error
	listener  net.Listener
	closeOnce sync.Once
	closeErr  error
}

// Run starts serving and returns once the server listens. It fails when the
// bundle is incomplete or the address is taken.
func (m *Main) Run(ctx context.Context) error {
	if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
		return fmt.Errorf("failed to create the data folder: %w", err)
	}
	handler, err := m.handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	m.listener = ln
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	m.printURLs()
	return nil
}

// URL is the base URL the server answers on, once Run has returned.
func (m *Main) URL() string {
	host, port, _ := net.SplitHostPort(m.listener.Addr().String())
	if h, _, err := net.SplitHostPort(m.Addr); err == nil && h == "localhost" {
		host = "localhost"
	} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Close stops accepting connections and waits up to shutdownGrace for
// requests in flight. Calling it again returns the first call's result.
func (m *Main) Close() error {
	m.closeOnce.Do(func() {
		if m.server == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := m.server.Shutdown(ctx)
		if serveErr := <-m.served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		m.closeErr = err
	})
	return m.closeErr
}

func (m *Main) handler() (http.Handler, error) {
	env := map[string]string{}
	if m.Dev {
		env[app.EnvDev] = "1"
	}
	b, err := bundle.New(bundle.Config{Web: web.Files, WasmExec: wasm_exec.JS, Env: env})
	if err != nil {
		return nil, err
	}
	// The server has no connection of its own: it pre-renders every
	// indicator as "connecting", which is what the browser shows first.
	app.Register(app.Options{Status: components.FixedStatus(conn.InitialStatus()), Dev: m.Dev})
	m.Logger.Info("bundle ready", "version", b.Version(), "dev", m.Dev)

	mux := http.NewServeMux()
	mux.Handle("/api/", api.New())
	mux.Handle("/", b)
	return mux, nil
}

func (m *Main) printURLs() {
	u := m.URL()
	fmt.Fprintf(m.Stdout, "tether serving %s/\n", u)
	if m.Dev {
		fmt.Fprintf(m.Stdout, "  customer:  %s/chat/%s?as=customer&name=Casey\n", u, app.DemoRoom)
		fmt.Fprintf(m.Stdout, "  therapist: %s/therapist?as=therapist&name=Taylor\n", u)
	}
}
