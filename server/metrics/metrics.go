//go:build !wasm

// Package metrics holds the server's Prometheus metrics, on a registry of
// its own so tests can run several servers in one process.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are what an operator watches.
type Metrics struct {
	registry *prometheus.Registry

	OpenSockets     prometheus.Gauge
	LongPolls       prometheus.Gauge
	RefusalsHeld    prometheus.Gauge
	BulkWaiting     prometheus.Gauge
	MessagesStored  prometheus.Counter
	Acks            prometheus.Counter
	Replayed        prometheus.Counter
	Errors          *prometheus.CounterVec
	Closes          *prometheus.CounterVec
	StoreLatency    *prometheus.HistogramVec
	SlowDisconnects prometheus.Counter
}

// New registers the metrics, with the Go and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		registry: r,
		OpenSockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tether_ws_connections", Help: "WebSocket connections open now."}),
		LongPolls: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tether_longpolls_waiting", Help: "HTTP long-polls waiting now."}),
		RefusalsHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tether_refusals_held", Help: "Refused requests (429) held before their answer goes, now."}),
		BulkWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tether_bulk_waiting", Help: "Replays and message pages waiting for their user's bulk budget, now."}),
		MessagesStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_messages_stored_total", Help: "Messages stored (repeats of a client_id not counted)."}),
		Acks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_acks_total", Help: "Acks sent over WebSocket and HTTP, repeats included."}),
		Replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_replayed_messages_total", Help: "Messages replayed to subscribers that came back."}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_errors_total", Help: "Error frames and HTTP errors sent, by code."}, []string{"code"}),
		Closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_ws_closes_total", Help: "WebSocket connections the server closed, by close code."}, []string{"code"}),
		StoreLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tether_store_seconds",
			Help:    "Latency of store calls, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		SlowDisconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_slow_consumer_disconnects_total", Help: "Connections closed because they did not read fast enough."}),
	}
	r.MustRegister(m.OpenSockets, m.LongPolls, m.RefusalsHeld, m.BulkWaiting, m.MessagesStored, m.Acks, m.Replayed, m.Errors, m.Closes,
		m.StoreLatency, m.SlowDisconnects,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveStore records how long a store call took.
func (m *Metrics) ObserveStore(op string, start time.Time) {
	m.StoreLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
