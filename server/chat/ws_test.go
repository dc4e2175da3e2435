//go:build !wasm

package chat_test

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/api"
	"tether/server/chat"
	"tether/server/metrics"
	"tether/server/store/sqlite"
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
			s := newRoomsServer(t, false)
			srv := httptest.NewServer(s.api)
			t.Cleanup(srv.Close)
			conn := dialTCP(t, srv, 10*time.Second)

			hello := fmt.Sprintf(`{"type":"hello","token":%q,"resume":{"booking-1":0},"pad":%q}`,
				s.token(t, "booking-1"), strings.Repeat("x", tt.pad))
			ping := `{"type":"ping","id":7}`
			packet := append([]byte(upgradeRequest(srv)), maskedFrame(t, []byte(hello))...)
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
	s := newRoomsServer(t, false)
	// Wired as the server wires it: what the store commits reaches the hub.
	hub := chat.NewHub(chat.Config{}, nil, s.auth, nil, metrics.New(), slog.New(slog.DiscardHandler))
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "live.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler), OnCommit: hub.Publish})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	hub.SetStore(st)
	srv := httptest.NewServer(api.New(api.Config{Hub: hub, Auth: s.auth}))
	t.Cleanup(srv.Close)

	conn, r := upgradeRaw(t, srv)
	hello := fmt.Sprintf(`{"type":"hello","token":%q,"resume":{"booking-1":0}}`, s.token(t, "booking-1"))
	_, err = conn.Write(maskedFrame(t, []byte(hello)))
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
	s := newRoomsServer(t, false)
	const helloTimeout = 300 * time.Millisecond
	hub := chat.NewHub(chat.Config{HelloTimeout: helloTimeout}, s.store, s.auth, nil, metrics.New(), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(api.New(api.Config{Hub: hub, Auth: s.auth}))
	t.Cleanup(srv.Close)

	conn, r := upgradeRaw(t, srv)

	hello := maskedFrame(t, []byte(fmt.Sprintf(`{"type":"hello","token":%q}`, s.token(t, "booking-1"))))
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
