//go:build !wasm

// Package node is one tether server: the bundle, the API, the chat hub and
// the store, started by Run and stopped by Close. The server command and the
// integration tests both run it.
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"tether/app"
	"tether/components"
	"tether/conn"
	"tether/conn/wire"
	"tether/server/api"
	"tether/server/auth"
	"tether/server/bookings"
	"tether/server/bundle"
	"tether/server/chat"
	"tether/server/faults"
	"tether/server/metrics"
	"tether/server/store"
	"tether/server/store/postgres"
	"tether/server/store/sqlite"
	"tether/wasm_exec"
	"tether/web"
)

// shutdownGrace bounds how long Close waits for requests in flight.
const shutdownGrace = 10 * time.Second

// Config is what the command line sets.
type Config struct {
	// Addr is the address to listen on.
	Addr string
	// DataDir holds the server's data.
	DataDir string
	// Dev turns on development mode.
	Dev bool
	// Faults serves the test backend.
	Faults bool
	// InsecurePublicDev lets Dev and Faults listen on a non-loopback
	// address (see CheckExposure).
	InsecurePublicDev bool
	// AllowedOrigins are extra Origin host patterns for WebSocket, comma
	// separated.
	AllowedOrigins string
	// Store is a postgres:// URL when several nodes share a PostgreSQL
	// database; empty keeps the messages in SQLite in DataDir.
	Store string
	// DebugAddr, when set, serves Go's profiles (net/http/pprof) on an
	// address of their own, so operators can see where a loaded server
	// spends its time without exposing them on the public one.
	DebugAddr string
	// MetricsAddr, when set, serves the Prometheus metrics (/metrics) on an
	// address of its own; the public address never serves them.
	MetricsAddr string
	// PublicOrigin lists the origins the server is reached at, comma
	// separated (https://chat.example.com). When set, a request for any
	// other Host gets 421 (except /healthz), and these origins open
	// WebSockets and call the API as the server's own.
	PublicOrigin string
	// TokenTTL is how long a session's access token lives (0: 15 min);
	// the client renews it on the socket at 80 % of that.
	TokenTTL time.Duration
	// AuthURL is a platform's endpoint that hands the pages their tokens
	// (it mints them with TETHER_SECRET): GET with the platform's cookies,
	// answering {"token":T}. Empty: the pages use tether's own sessions.
	AuthURL string
}

// Main is the tether server: Run starts it, Close stops it gracefully.
type Main struct {
	Config

	// Stdout receives the URLs to open; Logger everything else.
	Stdout io.Writer
	Logger *slog.Logger

	// Chat tunes the chat hub; tests shorten its timeouts.
	Chat chat.Config
	// Secret signs the tokens; when empty it comes from TETHER_SECRET, or in
	// dev mode from the data folder.
	Secret []byte
	// APIKey opens the operator API (/api/bookings…); when empty it comes
	// from TETHER_API_KEY, and without either the API is off.
	APIKey string

	server    *http.Server
	debug     *http.Server
	debugURL  string
	served    chan error
	listener  net.Listener
	hub       *chat.Hub
	store     store.Store
	closeOnce sync.Once
	closeErr  error

	// metricsServer serves metricsHandler (made by handler) on MetricsAddr.
	metricsServer  *http.Server
	metricsURL     string
	metricsHandler http.Handler
}

// Run starts serving and returns once the server listens. It fails when the
// bundle is incomplete or the address is taken.
// It refuses -dev and -faults beyond loopback (CheckExposure).
func (m *Main) Run(ctx context.Context) error {
	if err := m.checkExposure(); err != nil {
		return err
	}
	if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
		return fmt.Errorf("failed to create the data folder: %w", err)
	}
	handler, err := m.handler()
	if err != nil {
		if m.store != nil {
			m.store.Close()
		}
		return err
	}
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		m.store.Close()
		return fmt.Errorf("failed to listen: %w", err)
	}
	m.listener = ln
	if m.DebugAddr != "" {
		if err := m.serveDebug(); err != nil {
			ln.Close()
			m.store.Close()
			return err
		}
	}
	if m.MetricsAddr != "" {
		if err := m.serveMetrics(m.metricsHandler); err != nil {
			ln.Close()
			if m.debug != nil {
				m.debug.Close()
			}
			m.store.Close()
			return err
		}
	}
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
		// Tell every socket to come back within the drain window (4001) and
		// wake the long-polls, then let the requests in flight finish, then
		// flush the store.
		m.hub.Drain(ctx)
		err := m.server.Shutdown(ctx)
		if serveErr := <-m.served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		if m.debug != nil {
			err = errors.Join(err, m.debug.Close())
		}
		if m.metricsServer != nil {
			err = errors.Join(err, m.metricsServer.Close())
		}
		m.closeErr = errors.Join(err, m.store.Close())
	})
	return m.closeErr
}

func (m *Main) handler() (http.Handler, error) {
	public, err := parsePublicOrigins(m.PublicOrigin)
	if err != nil {
		return nil, err
	}
	secret, err := m.secret()
	if err != nil {
		return nil, err
	}
	a, err := auth.New(secret, auth.Options{AllowAllRooms: m.Dev, Dev: m.Dev})
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	if m.Dev {
		env[app.EnvDev] = "1"
	}
	var connect []string
	if m.AuthURL != "" {
		origin, err := CheckAuthURL(m.AuthURL)
		if err != nil {
			return nil, err
		}
		env[app.EnvAuthURL] = m.AuthURL
		connect = append(connect, origin)
	}
	b, err := bundle.New(bundle.Config{Web: web.Files, WasmExec: wasm_exec.JS, Env: env, IsPage: app.IsPage, ConnectOrigins: connect, PublicHost: public.previewHost()})
	if err != nil {
		return nil, err
	}
	// The server has no connection of its own: it pre-renders every
	// indicator as "connecting", which is what the browser shows first.
	app.Register(app.Options{Status: components.FixedStatus(conn.InitialStatus()), Dev: m.Dev})

	met := metrics.New()
	chatCfg := m.Chat
	if m.AllowedOrigins != "" {
		chatCfg.AllowedOrigins = append(chatCfg.AllowedOrigins, strings.Split(m.AllowedOrigins, ",")...)
	}
	chatCfg.AllowedOrigins = append(chatCfg.AllowedOrigins, public.originPatterns()...)
	var hub *chat.Hub
	var f *faults.Faults
	if m.Faults {
		f = faults.New(faults.Hooks{
			// Closures, not method values: hub is created below.
			Drop:  func() { hub.DropAll() },
			Close: func(code int, reason string) { hub.CloseAll(wire.CloseCode(code), reason) },
		})
		m.Logger.Warn("the test backend is on (-faults): never run it in production")
	}
	hub = chat.NewHub(chatCfg, nil, a, f, met, m.Logger)
	st, kind, err := m.openStore(hub)
	if err != nil {
		return nil, fmt.Errorf("failed to open the store: %w", err)
	}
	hub.SetStore(st)
	m.hub, m.store = hub, st
	m.Logger.Info("ready", "version", b.Version(), "dev", m.Dev, "faults", m.Faults, "data", m.DataDir, "store", kind)

	apiCfg := api.Config{Hub: hub, Auth: a, Dev: m.Dev, Faults: f, AllowedOrigins: chatCfg.AllowedOrigins, Logger: m.Logger}
	if err := m.bookingAPI(&apiCfg, hub, st, a, secret, public); err != nil {
		st.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(apiCfg))
	m.metricsHandler = met.Handler()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Cache-Control", "no-store")
		if err := st.Ping(ctx); err != nil {
			// The answer says nothing of the store: the error is for the logs.
			m.Logger.Error("health check failed", "err", err)
			http.Error(w, "not ok", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if f != nil {
		mux.Handle("/", f.Pages(b))
	} else {
		mux.Handle("/", b)
	}
	return guard(public, mux), nil
}

// bookingAPI serves in c the bookings and sessions of contract v2 when st
// keeps bookings: the sessions always, the operator API when an API key is
// set. Their invite codes derive from secret; their links start with the
// first public origin (paths without one).
func (m *Main) bookingAPI(c *api.Config, hub *chat.Hub, st store.Store, a *auth.Auth, secret []byte, public publicOrigins) error {
	key := m.APIKey
	if key == "" {
		key = os.Getenv("TETHER_API_KEY")
	}
	if key != "" && len(key) < api.MinAPIKeyBytes {
		return fmt.Errorf("TETHER_API_KEY has %d bytes; at least %d are needed (openssl rand -hex 32 makes one)", len(key), api.MinAPIKeyBytes)
	}
	bs, ok := st.(store.Bookings)
	if !ok {
		if key != "" {
			return errors.New("this store keeps no bookings: the operator API (TETHER_API_KEY) cannot run on it")
		}
		return nil
	}
	hub.SetBookings(bs)
	svc := bookings.New(bs, secret, public.first())
	c.Bookings, c.APIKey = svc, key
	c.Sessions = bookings.NewSessions(svc, a, m.TokenTTL)
	c.SecureCookies = public.secure()
	c.OnRevoke = func(ended [][]byte) {
		sids := make([]string, len(ended))
		for i, id := range ended {
			sids[i] = bookings.Sid(id)
		}
		hub.CloseSessions(sids)
	}
	c.OnCancel = hub.RoomCancelled
	if key != "" {
		m.Logger.Info("operator API on", "path", "/api/bookings")
	}
	return nil
}

// storeOpenTimeout bounds connecting to PostgreSQL and migrating it.
const storeOpenTimeout = 30 * time.Second

// openStore opens the store Config.Store names, with the hub's Publish as
// its commit hook, and says which kind it is.
func (m *Main) openStore(hub *chat.Hub) (store.Store, string, error) {
	return OpenStore(m.DataDir, m.Store, StoreHooks{OnCommit: hub.Publish, OnPeerCommit: hub.PublishFromPeer, OnResync: hub.DropAll}, m.Logger)
}

// StoreHooks are what a store tells of the messages committed; a command
// that only changes bookings (tether booking) needs none.
type StoreHooks struct {
	OnCommit     store.CommitFunc
	OnPeerCommit store.CommitFunc
	OnResync     func()
}

// OpenStore opens the store of url (a postgres:// URL), or SQLite in
// dataDir when url is empty, and says which kind it is.
func OpenStore(dataDir, url string, hooks StoreHooks, log *slog.Logger) (store.Store, string, error) {
	if hooks.OnCommit == nil {
		hooks.OnCommit = func([]wire.Message) {}
	}
	if url == "" {
		st, err := sqlite.Open(filepath.Join(dataDir, "tether.db"), sqlite.Options{OnCommit: hooks.OnCommit, Logger: log})
		if err != nil {
			return nil, "", err
		}
		return st, "sqlite", nil
	}
	// The error names the scheme at most: the rest may hold a password.
	scheme, _, found := strings.Cut(url, "://")
	if !found {
		return nil, "", errors.New("-store wants a postgres:// URL")
	}
	if scheme != "postgres" && scheme != "postgresql" {
		return nil, "", fmt.Errorf("-store wants a postgres:// URL, not %s://…", scheme)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	st, err := postgres.Open(ctx, url, postgres.Options{
		OnCommit:     hooks.OnCommit,
		OnPeerCommit: hooks.OnPeerCommit,
		// The messages missed cannot be told: the clients resume by seq.
		OnResync: hooks.OnResync,
		Logger:   log,
	})
	if err != nil {
		return nil, "", err
	}
	return st, "postgres", nil
}

// secret is TETHER_SECRET, or in dev mode a secret kept in the data folder.
func (m *Main) secret() ([]byte, error) {
	if len(m.Secret) > 0 {
		return m.Secret, nil
	}
	if s, err := auth.SecretFromEnv(); err == nil || !m.Dev {
		return s, err
	}
	return auth.DevSecret(m.DataDir)
}

func (m *Main) printURLs() {
	u := m.URL()
	// Before the serving line, so a harness that waits for that line has
	// the metrics URL too.
	if m.metricsURL != "" {
		fmt.Fprintf(m.Stdout, "tether metrics %s\n", m.metricsURL)
	}
	fmt.Fprintf(m.Stdout, "tether serving %s/\n", u)
	if m.Dev {
		fmt.Fprintf(m.Stdout, "  customer:  %s/chat/%s?as=customer&name=Casey\n", u, app.DemoRoom)
		fmt.Fprintf(m.Stdout, "  therapist: %s/therapist?as=therapist&name=Taylor\n", u)
	}
}
