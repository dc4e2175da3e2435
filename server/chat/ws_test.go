//go:build !wasm

package chat_test

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/chat"
)

// maskedFrame is a client's text frame, masked as RFC 6455 requires.
func maskedFrame(t *testing.T, payload []byte) []byte {
	t.Helper()
	var b []byte
	b = append(b, 0x81) // FIN, text
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var key [4]byte
	_, err := rand.Read(key[:])
	require.NoError(t, err)
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// readFrame reads one unmasked frame of the server's: its first byte (FIN
// and opcode) and its payload.
func readFrame(r *bufio.Reader) (first byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		_, err = io.ReadFull(r, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, err = io.ReadFull(r, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	if err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(r, payload)
	return h[0], payload, err
}

// readServerFrame reads one unmasked text frame of the server's.
func readServerFrame(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	first, p, err := readFrame(r)
	require.NoError(t, err)
	require.Equal(t, byte(0x81), first, "a final text frame")
	return string(p)
}

// dialTCP opens a bare TCP connection to srv that gives up after d and is
// closed when the test ends.
func dialTCP(t *testing.T, srv *httptest.Server, d time.Duration) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(d))
	return conn
}

// upgradeRequest is a browser's request to open a WebSocket to srv.
func upgradeRequest(srv *httptest.Server) string {
	return fmt.Sprintf("GET /api/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		srv.Listener.Addr(), wire.Subprotocol)
}

// requireSwitched reads the server's answer to an upgradeRequest: 101.
func requireSwitched(t *testing.T, r *bufio.Reader) {
	t.Helper()
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
}

// upgradeRaw opens a WebSocket to srv over a bare TCP connection, frames
// written and read by hand; the connection and its reader, past the 101.
func upgradeRaw(t *testing.T, srv *httptest.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn := dialTCP(t, srv, 10*time.Second)
	_, err := io.WriteString(conn, upgradeRequest(srv))
	require.NoError(t, err)
	r := bufio.NewReader(conn)
	requireSwitched(t, r)
	return conn, r
}

func TestFramesSentWithTheUpgradeRequestAreRead(t *testing.T) {
	t.Parallel()
	// A client may send its first frames right behind the upgrade request,
	// in the same packet: net/http has read them into its buffer by the
	// time the socket is hijacked, and the session must read them first.
	for _, tt := range []struct {
		name string
		pad  int // a hello longer than the session's read buffer
	}{
		{"a short hello", 0},
		{"a hello longer than the read buffer", 3000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLimitServer(t, chat.Config{})
			conn := dialTCP(t, s.srv, 10*time.Second)

			hello := fmt.Sprintf(`{"type":"hello","token":%q,"resume":{"booking-1":0},"pad":%q}`,
				s.token(t, "casey", "booking-1"), strings.Repeat("x", tt.pad))
			ping := `{"type":"ping","id":7}`
			packet := append([]byte(upgradeRequest(s.srv)), maskedFrame(t, []byte(hello))...)
			packet = append(packet, maskedFrame(t, []byte(ping))...)
			_, err := conn.Write(packet)
			require.NoError(t, err)

			r := bufio.NewReader(conn)
			requireSwitched(t, r)
			assert.Contains(t, readServerFrame(t, r), `"type":"welcome"`)
			assert.Contains(t, readServerFrame(t, r), `"type":"subscribed"`)
			assert.Contains(t, readServerFrame(t, r), `{"type":"pong","id":7`)
		})
	}
}

// A sender's own message and its ack, on a real session, in the order the
// client expects them (the queue's hold is tested in ws_cork_test.go).
func TestTheSenderGetsItsEchoThenItsAck(t *testing.T) {
	t.Parallel()
	// Wired as the server wires it: what the store commits reaches the hub.
	s := newLimitServer(t, chat.Config{})

	conn, r := upgradeRaw(t, s.srv)
	hello := fmt.Sprintf(`{"type":"hello","token":%q,"resume":{"booking-1":0}}`, s.token(t, "casey", "booking-1"))
	_, err := conn.Write(maskedFrame(t, []byte(hello)))
	require.NoError(t, err)
	assert.Contains(t, readServerFrame(t, r), `"type":"welcome"`)
	assert.Contains(t, readServerFrame(t, r), `"type":"subscribed"`)

	for i := range 5 {
		send := fmt.Sprintf(`{"type":"send","room":"booking-1","client_id":"c%d","body":"hello %d"}`, i, i)
		_, err = conn.Write(maskedFrame(t, []byte(send)))
		require.NoError(t, err)
		assert.Contains(t, readServerFrame(t, r), fmt.Sprintf(`"type":"message","room":"booking-1","seq":%d`, i+1), "send %d", i)
		assert.Contains(t, readServerFrame(t, r), fmt.Sprintf(`"type":"ack","room":"booking-1","client_id":"c%d"`, i), "send %d", i)
	}
}

// Hello counts when it is read, not when the burst of input it came in
// ends: a frame that trickles in behind it for longer than the hello
// timeout must not close the session.
func TestHelloStopsTheHelloTimerAtOnce(t *testing.T) {
	t.Parallel()
	const helloTimeout = 300 * time.Millisecond
	s := newLimitServer(t, chat.Config{HelloTimeout: helloTimeout})

	conn, r := upgradeRaw(t, s.srv)

	hello := maskedFrame(t, []byte(fmt.Sprintf(`{"type":"hello","token":%q}`, s.token(t, "casey", "booking-1"))))
	ping := maskedFrame(t, []byte(fmt.Sprintf(`{"type":"ping","id":7,"pad":%q}`, strings.Repeat("x", 1000))))
	// Hello and the head of the ping in one write; the rest of the ping
	// over three hello timeouts.
	_, err := conn.Write(append(hello, ping[:8]...))
	require.NoError(t, err)
	rest := ping[8:]
	const steps = 30
	for i := range steps {
		time.Sleep(3 * helloTimeout / steps)
		chunk := rest[i*len(rest)/steps : (i+1)*len(rest)/steps]
		_, err = conn.Write(chunk)
		require.NoError(t, err, "the server closed the connection")
	}
	assert.Contains(t, readServerFrame(t, r), `"type":"welcome"`)
	assert.Contains(t, readServerFrame(t, r), `{"type":"pong","id":7`, "the session lives on")
}

// rawConn is a TCP connection to s with a small receive buffer: a test that
// stops reading it makes the server's writes block after a few KiB.
func rawConn(t *testing.T, s *limitServer) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn := dialTCP(t, s.srv, limitTimeout)
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	return conn, bufio.NewReaderSize(conn, 512)
}

// rawSession upgrades a raw connection, sends hello with resume (JSON, ""
// for none) and reads welcome.
func rawSession(t *testing.T, s *limitServer, tok, resume string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, r := rawConn(t, s)
	_, err := io.WriteString(conn, upgradeRequest(s.srv))
	require.NoError(t, err)
	requireSwitched(t, r)
	hello := fmt.Sprintf(`{"type":"hello","token":%q}`, tok)
	if resume != "" {
		hello = fmt.Sprintf(`{"type":"hello","token":%q,"resume":%s}`, tok, resume)
	}
	_, err = conn.Write(maskedFrame(t, []byte(hello)))
	require.NoError(t, err)
	assert.Contains(t, readServerFrame(t, r), `"type":"welcome"`)
	return conn, r
}

// readAnyFrame reads one unmasked frame of the server's, of any opcode.
func readAnyFrame(r *bufio.Reader) (opcode byte, payload []byte, err error) {
	first, payload, err := readFrame(r)
	return first & 0x0f, payload, err
}

// maskedPong is a client's pong control frame answering a ping's payload.
func maskedPong(t *testing.T, payload []byte) []byte {
	t.Helper()
	var key [4]byte
	_, err := rand.Read(key[:])
	require.NoError(t, err)
	b := append([]byte{0x8a, 0x80 | byte(len(payload))}, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

const (
	opText = 0x1
	opPing = 0x9
)

func TestAHistoryAnswerNeverReadIsCutOffAfterTheWriteTimeout(t *testing.T) {
	t.Parallel()
	returned := make(chan struct{}, 1)
	s := newLimitServer(t, chat.Config{WriteTimeout: 100 * time.Millisecond}, func(r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "before=") {
			returned <- struct{}{}
		}
	})
	s.fill(t, "room-a", 100, 4000) // a page of about 400 KB
	conn, _ := rawConn(t, s)
	fmt.Fprintf(conn, "GET /api/rooms/room-a/messages?before=1000&limit=500 HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
		s.srv.Listener.Addr(), s.token(t, "casey", "room-a"))
	// The answer is never read: the handler must give up and free it.
	select {
	case <-returned:
	case <-time.After(limitTimeout):
		require.FailNow(t, "the handler still holds the answer nobody reads")
	}
}

func TestHistoryPagesInFlightPastTheUsersCapAreRefused(t *testing.T) {
	t.Parallel()
	// The read budget is out of the way: only the pages in flight count here.
	s := newLimitServer(t, chat.Config{Limits: chat.Limits{MaxUserPages: 2, ReadRate: 1000, ReadBurst: 1000}, WriteTimeout: 2 * time.Second})
	s.fill(t, "room-a", 500, 4000) // pages of about 2 MB: far more than the sockets' buffers hold
	request := func(conn net.Conn, user string) {
		fmt.Fprintf(conn, "GET /api/rooms/room-a/messages?before=1000&limit=500 HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
			s.srv.Listener.Addr(), s.token(t, user, "room-a"))
	}
	// Two pages never read hold the user's two places until the deadline.
	for range 2 {
		conn, _ := rawConn(t, s)
		request(conn, "casey")
	}
	require.Eventually(t, func() bool {
		conn, r := rawConn(t, s)
		request(conn, "casey")
		res, err := http.ReadResponse(r, nil)
		if err != nil {
			return false
		}
		// The body stays unread: a page answered 200 holds its place too.
		return res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") != ""
	}, limitTimeout, 10*time.Millisecond, "a third page in flight is refused with 429 and Retry-After")

	// Another user is not held back by casey's pages.
	conn, r := rawConn(t, s)
	request(conn, "taylor")
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

func TestALongPollHeldLongerThanTheWriteTimeoutStillAnswers(t *testing.T) {
	t.Parallel()
	// The deadline starts when the poll answers, not when it came.
	s := newLimitServer(t, chat.Config{WriteTimeout: 100 * time.Millisecond})
	conn, r := rawConn(t, s)
	fmt.Fprintf(conn, "GET /api/rooms/room-a/messages?since=0&wait=1 HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
		s.srv.Listener.Addr(), s.token(t, "casey", "room-a"))
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"messages":[],"head":0}`, string(body))
}

func TestASlowSocketIsClosedOnceWhateverItsFailedWrites(t *testing.T) {
	t.Parallel()
	s := newLimitServer(t, chat.Config{SendQueue: 4, WriteTimeout: 2 * time.Second})
	_, r := rawSession(t, s, s.token(t, "casey", "room-a"), `{"room-a":0}`)
	assert.Contains(t, readServerFrame(t, r), `"type":"subscribed"`)
	// The client reads no more: the socket's buffers, the writer and then
	// the queue fill, and every message after that finds it full.
	sender := wire.User{ID: "taylor", Name: "Taylor", Role: wire.RoleTherapist}
	for seq := range int64(100) {
		s.hub.Publish([]wire.Message{{
			Room: "room-a", Seq: seq + 1, ID: fmt.Sprint(seq), ClientID: fmt.Sprint("c", seq),
			Sender: sender, Body: strings.Repeat("x", 4000), SentAt: 1,
		}})
	}
	assert.Equal(t, 1.0, s.metric(t, "tether_slow_consumer_disconnects_total"), "one close, not one per failed write")
}

func TestASilentSocketIsPingedAndDroppedUnlessItAnswers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		answers bool
	}{
		{"a peer that answers no ping is dropped", false},
		{"a peer that answers only protocol pings stays", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLimitServer(t, chat.Config{Limits: chat.Limits{IdleTimeout: 100 * time.Millisecond, PongTimeout: 200 * time.Millisecond}})
			conn, r := rawSession(t, s, s.token(t, "casey", "room-a"), "")
			pings := 0
			for pings < 3 {
				op, payload, err := readAnyFrame(r)
				if !tt.answers && pings > 0 {
					require.Error(t, err, "the socket is dropped after an unanswered ping")
					require.Eventually(t, func() bool { return s.hub.Sockets() == 0 }, limitTimeout, 10*time.Millisecond)
					return
				}
				require.NoError(t, err)
				require.Equal(t, byte(opPing), op, "only pings come to a silent socket")
				pings++
				if tt.answers {
					_, err = conn.Write(maskedPong(t, payload))
					require.NoError(t, err)
				}
			}
			// Three pings answered later, the session still serves.
			_, err := conn.Write(maskedFrame(t, []byte(`{"type":"ping","id":7}`)))
			require.NoError(t, err)
			for {
				op, payload, err := readAnyFrame(r)
				require.NoError(t, err)
				if op == opText {
					assert.Contains(t, string(payload), `{"type":"pong","id":7`)
					break
				}
				require.Equal(t, byte(opPing), op)
				_, err = conn.Write(maskedPong(t, payload))
				require.NoError(t, err)
			}
			assert.Equal(t, 1, s.hub.Sockets())
		})
	}
}
