//go:build !wasm

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// sourceAddrs is how many loopback source addresses the connections spread
// over (127.0.0.2 …): the kernel's ephemeral ports (about 28,000 here) are
// counted per source address.
const sourceAddrs = 8

// pool holds the client connections of one run against one server.
type pool struct {
	proto   protocol
	baseURL string
	token   func(user, room string) (string, error)
	clients []*http.Client // one per source address
	sink    *sink

	ctx    context.Context // the connections' readers; ends with close
	cancel context.CancelFunc
	mu     sync.Mutex
	conns  []*benchConn
}

func newPool(proto protocol, baseURL string, token func(user, room string) (string, error)) *pool {
	p := &pool{proto: proto, baseURL: baseURL, token: token, sink: newSink(), clients: sourceClients()}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// sourceClients are HTTP clients that dial from the source addresses
// 127.0.0.2 … one each, for the upgrades of many WebSockets.
func sourceClients() []*http.Client {
	var clients []*http.Client
	for i := range sourceAddrs {
		d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}}
		clients = append(clients, &http.Client{Transport: &http.Transport{
			DialContext:       d.DialContext,
			DisableKeepAlives: true,
		}})
	}
	return clients
}

// pairs puts connections 2k and 2k+1 in one room: rooms of two.
func pairs(prefix string) func(idx int) string {
	return func(idx int) string { return prefix + strconv.Itoa(idx/2) }
}

// alone gives each connection a room of its own, whose other member is not
// on a socket (the long-poll phase).
func alone(prefix string) func(idx int) string {
	return func(idx int) string { return prefix + strconv.Itoa(idx) }
}

// open adds n connections, parallel at a time, each authenticated and
// subscribed to its room. It stops at the first failure and returns it with
// the connections opened so far kept.
func (p *pool) open(ctx context.Context, n, parallel int, roomOf func(idx int) string) error {
	p.mu.Lock()
	first := len(p.conns)
	p.conns = append(p.conns, make([]*benchConn, n)...)
	p.mu.Unlock()
	var next atomic.Int64
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	var errMu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || gctx.Err() != nil {
					return
				}
				idx := first + i
				c, err := p.dial(gctx, idx, roomOf(idx))
				if err != nil {
					errMu.Lock()
					errs = append(errs, fmt.Errorf("failed to open connection %d: %w", idx, err))
					errMu.Unlock()
					stop()
					return
				}
				p.mu.Lock()
				p.conns[idx] = c
				p.mu.Unlock()
			}
		})
	}
	wg.Wait()
	var err error
	if len(errs) > 0 {
		err = errs[0] // the first cause; the others followed from stop
	}
	// Keep only the connections that opened, in order.
	p.mu.Lock()
	kept := p.conns[:first]
	for _, c := range p.conns[first:] {
		if c != nil {
			kept = append(kept, c)
		}
	}
	p.conns = kept
	p.mu.Unlock()
	return err
}

func (p *pool) dial(ctx context.Context, idx int, room string) (*benchConn, error) {
	token, err := p.token("u"+strconv.Itoa(idx), room)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ws, err := dialWS(dctx, p.clients[idx%len(p.clients)], p.baseURL, p.proto)
	if err != nil {
		return nil, err
	}
	c := &benchConn{idx: idx, room: room, ws: ws, proto: p.proto, sink: p.sink}
	if err := p.proto.open(dctx, c, token); err != nil {
		ws.CloseNow()
		return nil, err
	}
	go c.readLoop(p.ctx)
	return c, nil
}

// Conns is a snapshot of the open connections.
func (p *pool) Conns() []*benchConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*benchConn(nil), p.conns...)
}

// close cuts every connection without a close handshake: the server sees
// them go as it would see a crowd of phones lose their network.
func (p *pool) close() {
	p.cancel()
	for _, c := range p.Conns() {
		c.ws.CloseNow()
	}
	for _, cl := range p.clients {
		cl.CloseIdleConnections()
	}
}
