//go:build !wasm

package main

import (
	"strings"
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
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
	var s []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") || d.Name == "/sched/goroutines:goroutines" || d.Name == "/gc/stack/starting-size:bytes" || d.Name == "/gc/heap/goal:bytes" {
			s = append(s, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(s)
	for _, x := range s {
		fmt.Printf("%s = %d\n", x.Name, x.Value.Uint64())
	}
}

func client(url string, n int) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a, _ := auth.New(secret, auth.Options{})
	var conns []*native.Conn
	for i := range n {
		room := fmt.Sprintf("r%d", i/2)
		tok, _ := a.Issue(wire.User{ID: fmt.Sprint("u", i), Name: "x", Role: "customer"}, []string{room}, time.Hour)
		c, err := native.Dial(context.Background(), url, tok)
		if err != nil {
			panic(err)
		}
		if _, err := c.SubscribeAndWait(context.Background(), room, 0); err != nil {
			panic(err)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	time.Sleep(time.Hour)
	_ = conns
}

func main() {
	runtime.MemProfileRate = 1
	if len(os.Args) > 1 {
		client(os.Args[1], 2000)
		return
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	dir, _ := os.MkdirTemp("", "probe")
	m := &node.Main{Config: node.Config{Addr: "127.0.0.1:0", DataDir: dir}, Stdout: io.Discard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Secret: secret}
	if err := m.Run(context.Background()); err != nil {
		panic(err)
	}
	stat()
	cmd := exec.Command(os.Args[0], m.URL())
	out, _ := cmd.StdoutPipe()
	cmd.Start()
	bufio.NewReader(out).ReadString('\n')
	defer cmd.Process.Kill()
	for range 5 {
		time.Sleep(time.Second)
		stat()
	}
	conns := []int{1}
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
