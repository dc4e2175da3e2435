//go:build !wasm

package native

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"tether/conn"
	"tether/conn/wire"
)

// The stability service's ports for Go programs: a real clock, WebSocket
// over coder/websocket, HTTP over net/http, a fixed token, an environment
// that is always online and visible, and storage in memory.

// Endpoints are the addresses of several nodes of one deployment (nodes
// that share PostgreSQL), tried in turn: a client goes on with the next node
// when one does not answer, and stays with the one that did.
type Endpoints struct {
	mu      sync.Mutex
	urls    []string
	current int
}

// NewEndpoints returns the endpoints, the first preferred.
func NewEndpoints(urls ...string) *Endpoints { return &Endpoints{urls: urls} }

// try calls f with each endpoint, from the last that worked, until one
// succeeds or retry says the error is not the endpoint's fault.
func (e *Endpoints) try(ctx context.Context, f func(baseURL string) error, retry func(error) bool) error {
	e.mu.Lock()
	start, n := e.current, len(e.urls)
	e.mu.Unlock()
	var err error
	for i := range n {
		idx := (start + i) % n
		if err = f(e.urls[idx]); err == nil || !retry(err) {
			if err == nil {
				e.mu.Lock()
				e.current = idx
				e.mu.Unlock()
			}
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return err
}

// endpointDown reports whether an HTTP call failed because the node is
// unreachable or refusing, so another node may answer.
func endpointDown(err error) bool {
	switch status, _ := conn.StatusOf(err); status {
	case 0, http.StatusServiceUnavailable, http.StatusBadGateway:
		return true
	}
	return false
}

// Dialer opens sockets to BaseURL's /api/ws, or to the first of Endpoints
// that answers.
type Dialer struct {
	// BaseURL is the server, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Endpoints, when set, replaces BaseURL with several nodes.
	Endpoints *Endpoints
	// Client makes the upgrade request; nil means http.DefaultClient.
	Client *http.Client
}

var _ conn.Dialer = (*Dialer)(nil)

// sendQueue bounds the frames waiting for the socket's writer.
const sendQueue = 256

// Dial opens a socket and starts its reader and writer.
func (d *Dialer) Dial(ctx context.Context, events conn.SocketEvents) (conn.Socket, error) {
	if d.Endpoints == nil {
		return d.dial(ctx, d.BaseURL, events)
	}
	var sock conn.Socket
	err := d.Endpoints.try(ctx, func(base string) error {
		var err error
		sock, err = d.dial(ctx, base, events)
		return err
	}, func(error) bool { return true })
	return sock, err
}

func (d *Dialer) dial(ctx context.Context, baseURL string, events conn.SocketEvents) (conn.Socket, error) {
	u, err := wsURL(baseURL)
	if err != nil {
		return nil, err
	}
	ws, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		Subprotocols: []string{wire.Subprotocol},
		HTTPClient:   d.Client,
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			return nil, newHTTPError(res, err)
		}
		return nil, err
	}
	ws.SetReadLimit(wire.MaxFrameBytes)
	sctx, cancel := context.WithCancel(context.Background())
	s := &socket{ws: ws, out: make(chan []byte, sendQueue), ctx: sctx, cancel: cancel}
	go s.writeLoop()
	go s.readLoop(events)
	return s, nil
}

// socket is one open WebSocket. Its reader delivers frames in order; its
// writer sends queued frames so Send never waits for the peer.
type socket struct {
	ws     *websocket.Conn
	out    chan []byte
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
}

func (s *socket) readLoop(events conn.SocketEvents) {
	defer s.cancel()
	for {
		_, data, err := s.ws.Read(s.ctx)
		if err != nil {
			code := wire.CloseCode(websocket.CloseStatus(err))
			reason := ""
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				reason = ce.Reason
			}
			if code < 0 {
				code = wire.CloseAbnormal
			}
			events.OnClose(code, reason)
			return
		}
		events.OnFrame(data)
	}
}

func (s *socket) writeLoop() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case data := <-s.out:
			ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
			err := s.ws.Write(ctx, websocket.MessageText, data)
			cancel()
			if err != nil {
				s.ws.CloseNow()
				return
			}
		}
	}
}

// errQueueFull means the socket's writer is far behind: the link is as good
// as dead.
var errQueueFull = errors.New("the socket's send queue is full")

// Send queues a text frame.
func (s *socket) Send(data []byte) error {
	select {
	case <-s.ctx.Done():
		return errSocketClosed
	default:
	}
	select {
	case s.out <- data:
		return nil
	default:
		return errQueueFull
	}
}

// errSocketClosed is returned by Send after the socket ended.
var errSocketClosed = errors.New("the socket is closed")

// Close starts the closing handshake; the reader reports the end.
func (s *socket) Close(code wire.CloseCode, reason string) error {
	s.once.Do(func() {
		go s.ws.Close(websocket.StatusCode(code), reason)
	})
	return nil
}

// HTTP is the service's HTTP port over net/http, to BaseURL or to the first
// of Endpoints that answers.
type HTTP struct {
	BaseURL   string
	Endpoints *Endpoints
	Client    *http.Client
}

var _ conn.HTTP = (*HTTP)(nil)

// do runs f against the server, moving on to the next endpoint when one
// is down.
func (h *HTTP) do(ctx context.Context, token string, f func(*HTTPClient) error) error {
	if h.Endpoints == nil {
		return f(&HTTPClient{BaseURL: h.BaseURL, Token: token, Client: h.Client})
	}
	return h.Endpoints.try(ctx, func(base string) error {
		return f(&HTTPClient{BaseURL: base, Token: token, Client: h.Client})
	}, endpointDown)
}

// Ping probes GET /api/ping.
func (h *HTTP) Ping(ctx context.Context) error {
	return h.do(ctx, "", func(c *HTTPClient) error { return c.Ping(ctx) })
}

// Messages long-polls a room.
func (h *HTTP) Messages(ctx context.Context, token, room string, since int64, wait time.Duration, limit int) (wire.MessagesPage, error) {
	var page wire.MessagesPage
	err := h.do(ctx, token, func(c *HTTPClient) error {
		page = wire.MessagesPage{}
		_, err := c.Do(ctx, http.MethodGet, wire.PollPath(room, since, wait, limit), nil, &page)
		return err
	})
	return page, err
}

// History reads a page of older messages; before 0 reads the newest page.
func (h *HTTP) History(ctx context.Context, token, room string, before int64, limit int) (wire.MessagesPage, error) {
	var page wire.MessagesPage
	err := h.do(ctx, token, func(c *HTTPClient) error {
		p, err := c.History(ctx, room, before, limit)
		if err != nil {
			return err
		}
		page = *p
		return nil
	})
	return page, err
}

// Post sends a message.
func (h *HTTP) Post(ctx context.Context, token, room, clientID, body string) (wire.Posted, error) {
	var posted wire.Posted
	err := h.do(ctx, token, func(c *HTTPClient) error {
		var err error
		posted, _, err = c.Post(ctx, room, clientID, body)
		return err
	})
	return posted, err
}

// StaticTokens hands out one token; Refresh calls RefreshFunc when set.
type StaticTokens struct {
	mu          sync.Mutex
	token       string
	RefreshFunc func(ctx context.Context) (string, error)
}

var _ conn.TokenSource = (*StaticTokens)(nil)

// NewStaticTokens returns a source holding token.
func NewStaticTokens(token string) *StaticTokens { return &StaticTokens{token: token} }

// Token returns the current token.
func (s *StaticTokens) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token, nil
}

// Refresh asks RefreshFunc for a new token.
func (s *StaticTokens) Refresh(ctx context.Context) (string, error) {
	if s.RefreshFunc == nil {
		return "", errors.New("no way to refresh the token")
	}
	t, err := s.RefreshFunc(ctx)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.token = t
	s.mu.Unlock()
	return t, nil
}

// AlwaysOnline is an environment without network or visibility events, as
// for a server-side Go program.
type AlwaysOnline struct{}

var _ conn.Environment = AlwaysOnline{}

func (AlwaysOnline) Online() bool                            { return true }
func (AlwaysOnline) Visible() bool                           { return true }
func (AlwaysOnline) Watch(func(conn.EnvEvent)) (stop func()) { return func() {} }

// MemoryStorage keeps the snapshot in memory.
type MemoryStorage struct {
	mu   sync.Mutex
	snap conn.Snapshot
}

var _ conn.Storage = (*MemoryStorage)(nil)

// Load returns the last saved snapshot.
func (m *MemoryStorage) Load() (conn.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snap, nil
}

// Save keeps s.
func (m *MemoryStorage) Save(s conn.Snapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snap = s
	return nil
}

// Ports returns the native ports for a server at baseURL with token.
func Ports(baseURL string, tokens conn.TokenSource) conn.Ports {
	return conn.Ports{
		Clock:   conn.SystemClock{},
		Dialer:  &Dialer{BaseURL: baseURL},
		HTTP:    &HTTP{BaseURL: baseURL},
		Tokens:  tokens,
		Env:     AlwaysOnline{},
		Storage: &MemoryStorage{},
	}
}

// PortsFor is Ports for several nodes of one deployment: the socket and the
// HTTP calls go to the first node that answers.
func PortsFor(endpoints *Endpoints, tokens conn.TokenSource) conn.Ports {
	p := Ports("", tokens)
	p.Dialer = &Dialer{Endpoints: endpoints}
	p.HTTP = &HTTP{Endpoints: endpoints}
	return p
}
