//go:build !wasm

package postgres_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/store"
	"tether/server/store/postgres"
	"tether/server/store/postgres/pgtest"
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

// peerAppendBound is how long another node's append may take while a node
// is cut off in the middle of its batch: the bound, well under the
// 30 s batch timeout a held row lock used to cost.
const peerAppendBound = 15 * time.Second

// TestANodeCutOffMidBatchDoesNotHoldItsRooms cuts node A's connection to
// the database (no FIN, no RST: a network cut or a frozen VM) once the
// server has its batch's statement and before A hears the commit, then
// requires that node B appends to the same room within peerAppendBound.
func TestANodeCutOffMidBatchDoesNotHoldItsRooms(t *testing.T) {
	t.Parallel()
	direct := pgtest.NewDatabase(t)
	proxy := newCutProxy(t, unixTarget(t, direct))
	nodeA := open(t, viaProxy(t, direct, proxy), postgres.Options{})
	nodeB := open(t, direct, postgres.Options{})
	t.Cleanup(proxy.Close) // before the stores close: A's writer hears the reset

	ctx := t.Context()
	sender := wire.User{ID: "u-ada", Name: "Ada", Role: wire.RoleCustomer}
	newMsg := func(clientID string) store.NewMessage {
		return store.NewMessage{Room: "r", ID: "m-" + clientID, ClientID: clientID, Sender: sender, Body: "hi", SentAt: 1}
	}
	_, _, err := nodeA.Append(ctx, newMsg("before-the-cut"))
	require.NoError(t, err)

	proxy.Arm("cut-here")
	aDone := make(chan error, 1)
	go func() {
		_, _, err := nodeA.Append(ctx, newMsg("cut-here"))
		aDone <- err
	}()
	select {
	case <-proxy.cut:
	case err := <-aDone:
		require.FailNow(t, "node A's append returned before the cut", "err: %v", err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the proxy never saw node A's batch")
	}
	waitUntilExecuted(t, direct, "r", "cut-here")

	bCtx, cancel := context.WithTimeout(ctx, peerAppendBound)
	defer cancel()
	start := time.Now()
	got, created, err := nodeB.Append(bCtx, newMsg("from-b"))
	require.NoError(t, err, "node B's append waited %v", time.Since(start).Round(time.Millisecond))
	t.Logf("node B's append took %v", time.Since(start).Round(time.Millisecond))
	assert.True(t, created)
	assert.Equal(t, int64(3), got.Seq, "A's batch committed though A never heard")

	// A retry of A's message through B finds it: nothing is lost or doubled.
	retry, created, err := nodeB.Append(bCtx, newMsg("cut-here"))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, int64(2), retry.Seq)

	// Nor does the cut session hold back vacuum: once its batch committed
	// it holds no transaction id and no snapshot while it waits.
	admin := pgtest.Connect(t, direct)
	assert.Eventually(t, func() bool {
		var holding int
		err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'node-a' AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)`).Scan(&holding)
		return err == nil && holding == 0
	}, 5*time.Second, 10*time.Millisecond, "a session of node A holds a transaction id or a snapshot")

	proxy.Close()
	select {
	case err := <-aDone:
		assert.Error(t, err, "node A cannot know its batch committed")
	case <-time.After(peerAppendBound):
		assert.Fail(t, "node A's append did not end when its connection was reset")
	}
}

// waitUntilExecuted waits until the server has run the append of clientID
// to room that the proxy let through: the message is committed, or the
// room's row is locked by a transaction that has not ended.
func waitUntilExecuted(t *testing.T, dbURL, room, clientID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	for {
		var committed bool
		err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM messages WHERE room = $1 AND client_id = $2)", room, clientID).Scan(&committed)
		require.NoError(t, err)
		if committed {
			return
		}
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, "SELECT 1 FROM rooms WHERE room = $1 FOR UPDATE NOWAIT", room)
		require.NoError(t, tx.Rollback(ctx))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
			return
		}
		require.NoError(t, err)
		select {
		case <-ctx.Done():
			require.FailNow(t, "the server never ran node A's append")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// unixTarget dials the unix socket of the database at dbURL (a pgtest URL).
func unixTarget(t *testing.T, dbURL string) func() (net.Conn, error) {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	socket := filepath.Join(u.Query().Get("host"), ".s.PGSQL.5432")
	return func() (net.Conn, error) { return net.Dial("unix", socket) }
}

// viaProxy is dbURL with its host replaced by the proxy's TCP address.
func viaProxy(t *testing.T, dbURL string, p *cutProxy) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	q := u.Query()
	q.Del("host")
	q.Set("application_name", "node-a")
	u.RawQuery = q.Encode()
	u.Host = fmt.Sprintf("127.0.0.1:%d", p.Addr().Port)
	return u.String()
}

// TestANodeCutOffMidRelayDoesNotStopTheOthers cuts node A's connection once
// the server has one of its relays (which take the lock that serialises
// every node's relays), then requires that node B's messages still reach
// node A's listener within peerAppendBound.
func TestANodeCutOffMidRelayDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	direct := pgtest.NewDatabase(t)
	proxy := newCutProxy(t, unixTarget(t, direct))
	heardByA, heardByB := newRecorder(t), newRecorder(t)
	nodeA := open(t, viaProxy(t, direct, proxy), heardByA.options())
	nodeB := open(t, direct, heardByB.options())
	t.Cleanup(proxy.Close) // before the stores close

	ctx := t.Context()
	// The relay lock's key: in a Query message as text, in a Bind as an
	// int8 in binary ("tether" plus 2).
	proxy.Arm("pg_advisory_xact_lock", "\x00tether\x02")
	_, _, err := nodeA.Append(ctx, newMessage("a", "c1"))
	require.NoError(t, err)
	select {
	case <-proxy.cut:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the proxy never saw node A's relay")
	}

	bCtx, cancel := context.WithTimeout(ctx, peerAppendBound)
	defer cancel()
	for _, clientID := range []string{"c1", "c2"} {
		_, _, err := nodeB.Append(bCtx, newMessage("b", clientID))
		require.NoError(t, err)
	}
	told := func(r *recorder, room string, head int64) func() bool {
		return func() bool {
			seqs := r.seqs(room)
			return len(seqs) > 0 && seqs[len(seqs)-1] >= head
		}
	}
	require.Eventually(t, told(heardByA, "b", 2), time.Until(deadlineOf(bCtx)), 10*time.Millisecond,
		"node B's messages did not reach node A")
	require.Eventually(t, told(heardByB, "a", 1), time.Until(deadlineOf(bCtx)), 10*time.Millisecond,
		"node A's message did not reach node B")
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
