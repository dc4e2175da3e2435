// Command peer is the benchmark's peer: a minimal chat server on
// github.com/centrifugal/centrifuge doing tether's job the way a user of that
// library would: rooms of two (a token names the rooms its holder may join),
// a history per room for recovery, publications from clients. It lives in a
// module of its own so that tether's go.mod never depends on centrifuge.
//
// By default it differs from tether in one way that favours it: the history
// is kept in memory (centrifuge's memory broker), while tether writes every
// message to SQLite before it acknowledges it. With -redis it keeps the
// history in Redis (centrifuge's Redis broker), which the harness runs with
// an append-only file synced before every reply: durable, like tether.
//
//	go run . -addr 127.0.0.1:8090        # TETHER_SECRET signs the tokens
//	go run . -redis unix:///tmp/redis.sock
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/centrifugal/centrifuge"
	"github.com/golang-jwt/jwt/v5"
)

// claims are tether's token claims; the peer reads the same tokens.
type claims struct {
	jwt.RegisteredClaims
	Rooms []string `json:"rooms"`
}

type roomsKey struct{}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on (port 0 picks a free one)")
	historySize := flag.Int("history", 500, "publications kept per room")
	redisAddr := flag.String("redis", "", "keep the history in this Redis (host:port or unix://path) instead of in memory")
	flag.Parse()
	secret := []byte(os.Getenv("TETHER_SECRET"))
	if len(secret) < 32 {
		log.Fatal("peer: TETHER_SECRET must hold at least 32 bytes")
	}
	if err := run(*addr, secret, *historySize, *redisAddr); err != nil {
		log.Fatal("peer: ", err)
	}
}

func run(addr string, secret []byte, historySize int, redisAddr string) error {
	node, err := centrifuge.New(centrifuge.Config{LogLevel: centrifuge.LogLevelError,
		LogHandler: func(e centrifuge.LogEntry) { log.Printf("centrifuge: %s %v", e.Message, e.Fields) }})
	if err != nil {
		return err
	}
	if redisAddr != "" {
		shard, err := centrifuge.NewRedisShard(node, centrifuge.RedisShardConfig{Address: redisAddr})
		if err != nil {
			return fmt.Errorf("failed to connect to redis: %w", err)
		}
		broker, err := centrifuge.NewRedisBroker(node, centrifuge.RedisBrokerConfig{Shards: []*centrifuge.RedisShard{shard}})
		if err != nil {
			return fmt.Errorf("failed to make the redis broker: %w", err)
		}
		node.SetBroker(broker)
	}
	node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		var c claims
		_, err := jwt.ParseWithClaims(e.Token, &c, func(*jwt.Token) (any, error) { return secret, nil },
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired())
		if err != nil || c.Subject == "" {
			return centrifuge.ConnectReply{}, centrifuge.DisconnectInvalidToken
		}
		return centrifuge.ConnectReply{
			Credentials: &centrifuge.Credentials{UserID: c.Subject},
			Context:     context.WithValue(ctx, roomsKey{}, c.Rooms),
		}, nil
	})
	member := func(client *centrifuge.Client, room string) bool {
		rooms, _ := client.Context().Value(roomsKey{}).([]string)
		return slices.Contains(rooms, room)
	}
	node.OnConnect(func(client *centrifuge.Client) {
		client.OnSubscribe(func(e centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			if !member(client, e.Channel) {
				cb(centrifuge.SubscribeReply{}, centrifuge.ErrorPermissionDenied)
				return
			}
			cb(centrifuge.SubscribeReply{Options: centrifuge.SubscribeOptions{EnableRecovery: true}}, nil)
		})
		client.OnPublish(func(e centrifuge.PublishEvent, cb centrifuge.PublishCallback) {
			if !member(client, e.Channel) {
				cb(centrifuge.PublishReply{}, centrifuge.ErrorPermissionDenied)
				return
			}
			cb(centrifuge.PublishReply{Options: centrifuge.PublishOptions{
				HistorySize: historySize, HistoryTTL: 24 * time.Hour,
			}}, nil)
		})
	})
	if err := node.Run(); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// The harness reads this line, as it reads tether's.
	fmt.Printf("peer serving http://%s/\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(node.Shutdown(shutdown), srv.Shutdown(shutdown))
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // hijacked sockets do not count as requests in flight
	}
	return err
}
