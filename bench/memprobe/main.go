//go:build !wasm

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"tether/conn/native"
	"tether/conn/wire"
	"tether/server/auth"
	"tether/server/node"
)

func stat() {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/sched/goroutines:goroutines"}, {Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	for _, x := range s {
		fmt.Printf("%s = %d\n", x.Name, x.Value.Uint64())
	}
}

func main() {
	secret := []byte("0123456789abcdef0123456789abcdef")
	dir, _ := os.MkdirTemp("", "probe")
	m := &node.Main{Config: node.Config{Addr: "127.0.0.1:0", DataDir: dir}, Stdout: io.Discard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Secret: secret}
	if err := m.Run(context.Background()); err != nil {
		panic(err)
	}
	a, _ := auth.New(secret, auth.Options{})
	stat()
	n := 2000
	var conns []*native.Conn
	for i := range n {
		room := fmt.Sprintf("r%d", i/2)
		tok, _ := a.Issue(wire.User{ID: fmt.Sprint("u", i), Name: "x", Role: "customer"}, []string{room}, time.Hour)
		c, err := native.Dial(context.Background(), m.URL(), tok)
		if err != nil {
			panic(err)
		}
		if _, err := c.SubscribeAndWait(context.Background(), room, 0); err != nil {
			panic(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Second)
	stat()
	f, _ := os.Create("/tmp/heap.prof")
	runtime.GC()
	pprof.Lookup("heap").WriteTo(f, 0)
	f.Close()
	f, _ = os.Create("/tmp/goroutine.txt")
	pprof.Lookup("goroutine").WriteTo(f, 1)
	f.Close()
	fmt.Println(len(conns))
}
