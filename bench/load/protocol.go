//go:build !wasm

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"tether/conn/wire"
)

// protocol is how the load generator talks to one kind of server: tether's
// protocol v1 or centrifuge's JSON protocol. Both carry the same payload, a
// text "<stamp> <sender> <padding>", so one parser reads both.
type protocol interface {
	Name() string
	// path is the WebSocket endpoint; subprotocols what to offer.
	path() string
	subprotocols() []string
	// open authenticates with token and subscribes to c.room, reading the
	// answers itself; the reader starts after it.
	open(ctx context.Context, c *benchConn, token string) error
	// publish sends one message with payload to c.room.
	publish(ctx context.Context, c *benchConn, payload []byte) error
	// handle takes one WebSocket message from the server.
	handle(c *benchConn, data []byte)
}

// sink counts what every connection of a run receives.
type sink struct {
	delivered atomic.Int64 // publications received, the sender's echo included
	echoes    atomic.Int64 // of which the sender's own
	acks      atomic.Int64 // publishes the server confirmed
	errors    atomic.Int64 // error answers
	closed    atomic.Int64 // connections that ended while the run held them
	lastError atomic.Pointer[string]
	// latency is publish → receive at the other member of the room; it is
	// swapped for a fresh histogram at the start of each measured step.
	latency atomic.Pointer[histogram]
}

func newSink() *sink {
	s := &sink{}
	s.latency.Store(&histogram{})
	return s
}

func (s *sink) fail(err string) {
	s.errors.Add(1)
	s.lastError.Store(&err)
}

// benchConn is one client connection of the load generator.
type benchConn struct {
	idx   int
	room  string
	ws    *websocket.Conn
	proto protocol
	sink  *sink
	// nextID numbers centrifuge commands and tether client_ids.
	nextID atomic.Uint32
}

// epoch is the load generator's clock: stamps are nanoseconds since it, on
// the monotonic clock. The sender and the receiver are this one process.
var epoch = time.Now()

func stamp() int64 { return int64(time.Since(epoch)) }

// padding makes a message about the size of a short chat line.
const padding = "lorem-ipsum-dolor-sit-amet-consectetur-adipiscing-elit-sed"

// payload is the text every benchmark message carries.
func payload(sender int) []byte {
	b := strconv.AppendInt(make([]byte, 0, 96), stamp(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(sender), 10)
	return append(b, ' ')
}

func fullPayload(sender int) []byte { return append(payload(sender), padding...) }

// parsePayload finds the payload after marker (`"body":"` in a tether
// frame, `"data":"` in a centrifuge one) and reads its stamp and sender.
func parsePayload(frame []byte, marker string) (stamp int64, sender int, ok bool) {
	i := bytes.Index(frame, []byte(marker))
	if i < 0 {
		return 0, 0, false
	}
	return parseBody(frame[i+len(marker):])
}

// parseBody reads the stamp and sender at the start of a message body.
func parseBody(body []byte) (stamp int64, sender int, ok bool) {
	stamp, rest, ok := leadingInt(body)
	if !ok || len(rest) == 0 || rest[0] != ' ' {
		return 0, 0, false
	}
	s, rest, ok := leadingInt(rest[1:])
	if !ok || len(rest) == 0 || rest[0] != ' ' {
		return 0, 0, false
	}
	return stamp, int(s), true
}

func leadingInt(b []byte) (int64, []byte, bool) {
	var n int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && i < 19; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	return n, b[i:], i > 0
}

// received counts one publication and, unless it is the receiver's own
// echo, its latency.
func (c *benchConn) received(frame []byte, marker string) {
	at := stamp()
	sent, sender, ok := parsePayload(frame, marker)
	if !ok {
		c.sink.fail(fmt.Sprintf("unreadable publication %.200q", frame))
		return
	}
	c.sink.delivered.Add(1)
	if sender == c.idx {
		c.sink.echoes.Add(1)
		return
	}
	c.sink.latency.Load().record(time.Duration(at - sent))
}

// readLoop hands every message to the protocol until the connection ends.
func (c *benchConn) readLoop(ctx context.Context) {
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.sink.closed.Add(1)
				c.sink.fail(fmt.Sprintf("connection %d ended: %v", c.idx, err))
			}
			return
		}
		c.proto.handle(c, data)
	}
}

func (c *benchConn) write(ctx context.Context, data []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, data)
}

// readUntil reads messages until match accepts one, during open.
func (c *benchConn) readUntil(ctx context.Context, what string, match func([]byte) (bool, error)) error {
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			return fmt.Errorf("failed to wait for %s: %w", what, err)
		}
		done, err := match(data)
		if err != nil || done {
			return err
		}
	}
}

// tetherProtocol is protocol v1.
type tetherProtocol struct{}

func (tetherProtocol) Name() string           { return "tether" }
func (tetherProtocol) path() string           { return "/api/ws" }
func (tetherProtocol) subprotocols() []string { return []string{wire.Subprotocol} }

func (tetherProtocol) open(ctx context.Context, c *benchConn, token string) error {
	expect := func(typ string) func([]byte) (bool, error) {
		prefix := []byte(`{"type":"` + typ + `"`)
		return func(data []byte) (bool, error) {
			if bytes.HasPrefix(data, []byte(`{"type":"error"`)) {
				return false, fmt.Errorf("the server refused: %s", data)
			}
			return bytes.HasPrefix(data, prefix), nil
		}
	}
	hello, _ := wire.Encode(&wire.Hello{Token: token})
	if err := c.write(ctx, hello); err != nil {
		return err
	}
	if err := c.readUntil(ctx, "welcome", expect("welcome")); err != nil {
		return err
	}
	sub, _ := wire.Encode(&wire.Subscribe{Room: c.room})
	if err := c.write(ctx, sub); err != nil {
		return err
	}
	return c.readUntil(ctx, "subscribed", expect("subscribed"))
}

func (tetherProtocol) publish(ctx context.Context, c *benchConn, p []byte) error {
	f, err := wire.Encode(&wire.Send{Room: c.room, ClientID: "c" + strconv.Itoa(c.idx) + "-" + strconv.Itoa(int(c.nextID.Add(1))), Body: string(p)})
	if err != nil {
		return err
	}
	return c.write(ctx, f)
}

func (tetherProtocol) handle(c *benchConn, data []byte) {
	switch {
	case bytes.HasPrefix(data, []byte(`{"type":"message"`)):
		c.received(data, `"body":"`)
	case bytes.HasPrefix(data, []byte(`{"type":"ack"`)):
		c.sink.acks.Add(1)
	case bytes.HasPrefix(data, []byte(`{"type":"error"`)):
		c.sink.fail(string(data))
	}
}

// centrifugeProtocol is centrifuge's JSON protocol: commands with an id,
// replies with the same id, pushes without one, several per WebSocket
// message separated by newlines, and an empty object as the server's ping,
// answered with one.
type centrifugeProtocol struct{}

func (centrifugeProtocol) Name() string           { return "peer" }
func (centrifugeProtocol) path() string           { return "/connection/websocket" }
func (centrifugeProtocol) subprotocols() []string { return nil }

func (p centrifugeProtocol) open(ctx context.Context, c *benchConn, token string) error {
	call := func(what, body string) error {
		id := strconv.Itoa(int(c.nextID.Add(1)))
		if err := c.write(ctx, []byte(`{"id":`+id+`,`+body+`}`)); err != nil {
			return err
		}
		prefix := []byte(`{"id":` + id + `,`)
		return c.readUntil(ctx, what, func(data []byte) (bool, error) {
			for line := range bytes.SplitSeq(data, []byte("\n")) {
				if !bytes.HasPrefix(line, prefix) {
					continue
				}
				if bytes.Contains(line, []byte(`"error":`)) {
					return false, fmt.Errorf("the server refused %s: %s", what, line)
				}
				return true, nil
			}
			return false, nil
		})
	}
	if err := call("connect", `"connect":{"token":"`+token+`"}`); err != nil {
		return err
	}
	return call("subscribe", `"subscribe":{"channel":"`+c.room+`"}`)
}

func (centrifugeProtocol) publish(ctx context.Context, c *benchConn, p []byte) error {
	id := c.nextID.Add(1)
	b := make([]byte, 0, 64+len(c.room)+len(p))
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, uint64(id), 10)
	b = append(b, `,"publish":{"channel":"`...)
	b = append(b, c.room...)
	b = append(b, `","data":"`...)
	b = append(b, p...)
	b = append(b, `"}}`...)
	return c.write(ctx, b)
}

func (centrifugeProtocol) handle(c *benchConn, data []byte) {
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		switch {
		case len(line) == 0:
		case bytes.Equal(line, []byte("{}")):
			// The server's ping: answer it, or it disconnects.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := c.write(ctx, []byte("{}")); err != nil {
				c.sink.fail("pong: " + err.Error())
			}
			cancel()
		case bytes.HasPrefix(line, []byte(`{"push":`)):
			if bytes.Contains(line, []byte(`"pub":`)) {
				c.received(line, `"data":"`)
			}
		case bytes.Contains(line, []byte(`"error":`)):
			c.sink.fail(string(line))
		case bytes.Contains(line, []byte(`"publish":`)):
			c.sink.acks.Add(1)
		}
	}
}

// errRefused is an upgrade the server answered with an HTTP status.
var errRefused = errors.New("upgrade refused")

// dialWS opens one WebSocket with client (whose dialer picks the source
// address).
func dialWS(ctx context.Context, client *http.Client, baseURL string, p protocol) (*websocket.Conn, error) {
	ws, res, err := websocket.Dial(ctx, "ws"+baseURL[len("http"):]+p.path(), &websocket.DialOptions{
		HTTPClient:   client,
		Subprotocols: p.subprotocols(),
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("%w: HTTP %d: %v", errRefused, res.StatusCode, err)
		}
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	return ws, nil
}
