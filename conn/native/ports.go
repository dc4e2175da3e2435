//go:build !wasm

package native

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"tether/conn"
	"tether/conn/wire"
)

// The stability service's ports for Go programs: a real clock, WebSocket
// over coder/websocket, HTTP over net/http, a fixed token, an environment
// that is always online and visible, and storage in memory.

// Clock is the system clock.
type Clock struct{}

var _ conn.Clock = Clock{}

// Now returns the current time.
func (Clock) Now() time.Time { return time.Now() }

// AfterFunc calls f after d on its own goroutine.
func (Clock) AfterFunc(d time.Duration, f func()) conn.Timer { return time.AfterFunc(d, f) }

// Dialer opens sockets to BaseURL's /api/ws.
type Dialer struct {
	// BaseURL is the server, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Client makes the upgrade request; nil means http.DefaultClient.
	Client *http.Client
}

var _ conn.Dialer = (*Dialer)(nil)

// sendQueue bounds the frames waiting for the socket's writer.
const sendQueue = 256

// Dial opens a socket and starts its reader and writer.
func (d *Dialer) Dial(ctx context.Context, events conn.SocketEvents) (conn.Socket, error) {
	u, err := wsURL(d.BaseURL)
	if err != nil {
		return nil, err
	}
	ws, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		Subprotocols: []string{wire.Subprotocol},
		HTTPClient:   d.Client,
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			return nil, portError(newHTTPError(res, err))
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
var errQueueFull = errors.New("native: the socket's send queue is full")

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
var errSocketClosed = errors.New("native: the socket is closed")

// Close starts the closing handshake; the reader reports the end.
func (s *socket) Close(code wire.CloseCode, reason string) error {
	s.once.Do(func() {
		go s.ws.Close(websocket.StatusCode(code), reason)
	})
	return nil
}

// HTTP is the service's HTTP port over net/http.
type HTTP struct {
	BaseURL string
	Client  *http.Client
}

var _ conn.HTTP = (*HTTP)(nil)

func (h *HTTP) client(token string) *HTTPClient {
	return &HTTPClient{BaseURL: h.BaseURL, Token: token, Client: h.Client}
}

// Ping probes GET /api/ping.
func (h *HTTP) Ping(ctx context.Context) error { return portError(h.client("").Ping(ctx)) }

// Messages long-polls a room.
func (h *HTTP) Messages(ctx context.Context, token, room string, since int64, wait time.Duration, limit int) (wire.MessagesPage, error) {
	q := url.Values{"since": {strconv.FormatInt(since, 10)}}
	if wait > 0 {
		q.Set("wait", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page wire.MessagesPage
	_, err := h.client(token).Do(ctx, http.MethodGet, messagesPath(room)+"?"+q.Encode(), nil, &page)
	return page, portError(err)
}

// Post sends a message.
func (h *HTTP) Post(ctx context.Context, token, room, clientID, body string) (wire.Posted, error) {
	posted, _, err := h.client(token).Post(ctx, room, clientID, body)
	return posted, portError(err)
}

// portError turns this package's *HTTPError into the port's.
func portError(err error) error {
	var he *HTTPError
	if errors.As(err, &he) {
		return &conn.HTTPError{Status: he.Status, Code: he.Code, Message: he.Message, RetryAfter: he.RetryAfter}
	}
	return err
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
		return "", errors.New("native: no way to refresh the token")
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
		Clock:   Clock{},
		Dialer:  &Dialer{BaseURL: baseURL},
		HTTP:    &HTTP{BaseURL: baseURL},
		Tokens:  tokens,
		Env:     AlwaysOnline{},
		Storage: &MemoryStorage{},
	}
}
