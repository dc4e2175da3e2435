//go:build !wasm

// Package metrics holds the server's Prometheus metrics, on a registry of
// its own so tests can run several servers in one process.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
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
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Each metric is registered as it is made: one name and help a line.
	f := promauto.With(r)
	gauge := func(name, help string) prometheus.Gauge {
		return f.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	counter := func(name, help string) prometheus.Counter {
		return f.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	byCode := func(name, help string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"code"})
	}
	return &Metrics{
		registry:       r,
		OpenSockets:    gauge("tether_ws_connections", "WebSocket connections open now."),
		LongPolls:      gauge("tether_longpolls_waiting", "HTTP long-polls waiting now."),
		RefusalsHeld:   gauge("tether_refusals_held", "Refused requests (429) held before their answer goes, now."),
		BulkWaiting:    gauge("tether_bulk_waiting", "Replays and message pages waiting for their user's bulk budget, now."),
		MessagesStored: counter("tether_messages_stored_total", "Messages stored (repeats of a client_id not counted)."),
		Acks:           counter("tether_acks_total", "Acks sent over WebSocket and HTTP, repeats included."),
		Replayed:       counter("tether_replayed_messages_total", "Messages replayed to subscribers that came back."),
		Errors:         byCode("tether_errors_total", "Error frames and HTTP errors sent, by code."),
		Closes:         byCode("tether_ws_closes_total", "WebSocket connections the server closed, by close code."),
		StoreLatency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tether_store_seconds",
			Help:    "Latency of store calls, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		SlowDisconnects: counter("tether_slow_consumer_disconnects_total", "Connections closed because they did not read fast enough."),
	}
}

// ObserveStore records how long a store call took.
func (m *Metrics) ObserveStore(op string, start time.Time) {
	m.StoreLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
