//go:build !wasm

package node

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// serveMetrics serves the Prometheus metrics on MetricsAddr. They get their
// own listener, like the profiles, so that the public address never tells
// the internet how many sockets and polls the server holds.
func (m *Main) serveMetrics(metrics http.Handler) error {
	ln, err := net.Listen("tcp", m.MetricsAddr)
	if err != nil {
		return fmt.Errorf("failed to listen on the metrics address: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	m.metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.metricsURL = "http://" + ln.Addr().String() + "/metrics"
	go m.metricsServer.Serve(ln)
	return nil
}

// MetricsURL is the URL of the metrics once Run has returned, or "" without
// MetricsAddr.
func (m *Main) MetricsURL() string { return m.metricsURL }
