//go:build !wasm

package postgres_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// cutProxy is a TCP proxy to a PostgreSQL server that can cut a connection
// the way a network does: it stops forwarding in both directions and holds
// both sockets open in silence, with no FIN and no RST, until Close.
//
// It reads the frontend protocol, so that the cut falls at a chosen point
// of one statement: once a connection has sent a message holding the armed
// marker, the proxy cuts it right after a Query message (the server has the
// whole statement and nothing after it) or right before a Sync (the server
// has every message of an extended-protocol pipeline but the one that ends
// its implicit transaction). Replies the server sends after the cut never
// reach the client.
type cutProxy struct {
	ln      net.Listener
	target  func() (net.Conn, error)
	markers atomic.Pointer[[][]byte]
	// cut is closed when a connection is cut.
	cut     chan struct{}
	cutOnce sync.Once

	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
	wg    sync.WaitGroup
}

// newCutProxy listens on a loopback port and forwards each connection to a
// new one from target. It is closed when the test ends.
func newCutProxy(t *testing.T, target func() (net.Conn, error)) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, cut: make(chan struct{}), done: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.Close)
	return p
}

// Addr is where clients connect.
func (p *cutProxy) Addr() *net.TCPAddr { return p.ln.Addr().(*net.TCPAddr) }

// Arm makes the proxy cut the next connection that sends any of markers.
func (p *cutProxy) Arm(markers ...string) {
	bs := make([][]byte, len(markers))
	for i, m := range markers {
		bs[i] = []byte(m)
	}
	p.markers.Store(&bs)
}

// armed reports whether msg holds one of the armed markers.
func (p *cutProxy) armed(msg []byte) bool {
	if ms := p.markers.Load(); ms != nil {
		for _, m := range *ms {
			if bytes.Contains(msg, m) {
				return true
			}
		}
	}
	return false
}

// Close closes every socket, which ends the silence with a reset of both
// ends, and waits for the proxy's goroutines.
func (p *cutProxy) Close() {
	p.mu.Lock()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *cutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		c.Close()
		return false
	default:
		p.conns = append(p.conns, c)
		return true
	}
}

func (p *cutProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(client) {
			return
		}
		server, err := p.target()
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(server) {
			return
		}
		var cut atomic.Bool
		p.wg.Go(func() { p.forwardFrontend(client, server, &cut) })
		p.wg.Go(func() { p.forwardBackend(server, client, &cut) })
	}
}

// forwardFrontend copies the client's messages to the server one by one
// until the cut, then waits for Close.
func (p *cutProxy) forwardFrontend(client, server net.Conn, cut *atomic.Bool) {
	defer p.silence()
	seen := false
	// The startup packet has no type byte; an SSL or GSS request (length
	// 8) is followed by another.
	for {
		msg, err := readUntyped(client)
		if err != nil || write(server, msg) != nil {
			return
		}
		if len(msg) != 8 {
			break
		}
		// The server answers a request with one byte, which forwardBackend
		// copies; with sslmode=disable none is sent.
	}
	for {
		typ, msg, err := readTyped(client)
		if err != nil {
			return
		}
		if p.armed(msg) {
			seen = true
		}
		if seen && typ == 'S' {
			p.cutNow(cut)
			return
		}
		if write(server, msg) != nil {
			return
		}
		if seen && typ == 'Q' {
			p.cutNow(cut)
			return
		}
	}
}

func (p *cutProxy) cutNow(cut *atomic.Bool) {
	cut.Store(true)
	p.markers.Store(nil)
	p.cutOnce.Do(func() { close(p.cut) })
}

// forwardBackend copies the server's bytes to the client until the cut.
func (p *cutProxy) forwardBackend(server, client net.Conn, cut *atomic.Bool) {
	defer p.silence()
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if cut.Load() {
			return // dropped: the network is gone
		}
		if n > 0 && write(client, buf[:n]) != nil {
			return
		}
		if err != nil {
			return
		}
	}
}

// silence holds a forwarder's sockets open, without reading or writing,
// until Close.
func (p *cutProxy) silence() { <-p.done }

func write(c net.Conn, b []byte) error {
	_, err := c.Write(b)
	return err
}

// readUntyped reads a message that starts with its length (the startup).
func readUntyped(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 4 || n > 1<<20 {
		return nil, errors.New("bad startup length")
	}
	msg := make([]byte, n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

// readTyped reads a message that starts with its type byte and length, and
// returns it whole.
func readTyped(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<30 {
		return 0, nil, errors.New("bad message length")
	}
	msg := make([]byte, 1+n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[5:])
	return hdr[0], msg, err
}
