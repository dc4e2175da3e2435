//go:build !wasm

package node

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// serveDebug serves Go's profiles on DebugAddr. They get their own listener
// so that the public address never exposes them.
func (m *Main) serveDebug() error {
	ln, err := net.Listen("tcp", m.DebugAddr)
	if err != nil {
		return fmt.Errorf("failed to listen on the debug address: %w", err)
	}
	if !IsLoopback(m.DebugAddr) {
		m.Logger.Warn("-debug-addr listens beyond loopback: whoever reaches it can profile the server (and make it spend CPU doing so); keep it private", "addr", m.DebugAddr)
	}
	mux := http.NewServeMux()
	// No /debug/pprof/cmdline: the command line may hold the -store URL
	// with its password.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.debugURL = "http://" + ln.Addr().String()
	m.Logger.Info("profiles", "url", m.debugURL+"/debug/pprof/")
	go m.debug.Serve(ln)
	return nil
}

// DebugURL is the base URL of the profiles once Run has returned, or ""
// without DebugAddr.
func (m *Main) DebugURL() string { return m.debugURL }
