//go:build !wasm

package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"tether/server/node"
)

func main() {
	var c node.Config
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:0", "")
	flag.StringVar(&c.DataDir, "data", "/tmp/profsrv", "")
	flag.BoolVar(&c.Dev, "dev", false, "")
	flag.Parse()
	runtime.SetBlockProfileRate(10000)
	m := &node.Main{Config: c, Stdout: os.Stdout, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := m.Run(context.Background()); err != nil {
		panic(err)
	}
	time.Sleep(2 * time.Second)
	f, _ := os.Create("/tmp/cpu.prof")
	pprof.StartCPUProfile(f)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	<-ch
	pprof.StopCPUProfile()
	f.Close()
	b, _ := os.Create("/tmp/block.prof")
	pprof.Lookup("block").WriteTo(b, 0)
	b.Close()
}
