// Package conn is the connection stability service of tether: it keeps one
// chat connection alive through bad networks and tells the truth about it.
//
// The package does no I/O of its own; it talks to the browser or to the
// network through ports (interfaces), so every behaviour is tested natively.
package conn

import (
	"fmt"
	"time"
)

// State is where the connection stands in its life cycle.
type State string

// The states of a connection, as in the design.
const (
	StateConnecting   State = "connecting"
	StateConnected    State = "connected"
	StateReconnecting State = "reconnecting"
	// StatePolling means WebSocket is unavailable and HTTP polling carries the
	// chat while WebSocket is probed in the background.
	StatePolling State = "polling"
	// StateOffline means the browser reports no network and a probe agrees.
	StateOffline State = "offline"
	// StateSuspended is a long outage: slow steady retries, never giving up.
	StateSuspended State = "suspended"
	// StateUnauthorized means the token was refused; it lasts until a new token.
	StateUnauthorized State = "unauthorized"
	StateClosed       State = "closed"
)

// Quality grades the link by its smoothed round-trip time.
type Quality string

// The quality levels, best first.
const (
	QualityExcellent    Quality = "excellent"
	QualityGood         Quality = "good"
	QualityPoor         Quality = "poor"
	QualityDisconnected Quality = "disconnected"
)

// The latency thresholds between quality levels.
const (
	ExcellentBelow = 100 * time.Millisecond
	GoodBelow      = 300 * time.Millisecond
	PoorBelow      = 1000 * time.Millisecond
)

// QualityOf grades a round-trip time: below 100 ms excellent, below 300 ms
// good, below 1000 ms poor, anything slower disconnected. A zero or negative
// RTT means no measurement, which is graded disconnected.
func QualityOf(rtt time.Duration) Quality {
	switch {
	case rtt <= 0:
		return QualityDisconnected
	case rtt < ExcellentBelow:
		return QualityExcellent
	case rtt < GoodBelow:
		return QualityGood
	case rtt < PoorBelow:
		return QualityPoor
	default:
		return QualityDisconnected
	}
}

// Bars is how many of the three quality dots are lit for q.
func (q Quality) Bars() int {
	switch q {
	case QualityExcellent:
		return 3
	case QualityGood:
		return 2
	case QualityPoor:
		return 1
	default:
		return 0
	}
}

// ConnectionType names the transport that carries the chat.
type ConnectionType string

// The transports.
const (
	TransportWebSocket ConnectionType = "websocket"
	TransportPolling   ConnectionType = "polling"
	TransportNone      ConnectionType = "none"
)

// Status is a snapshot of the connection, the Go form of the original
// service's getStatus(). It is a value: copies never change under the reader.
type Status struct {
	State             State
	IsConnected       bool
	Quality           Quality
	Latency           time.Duration
	ConnectionType    ConnectionType
	ReconnectAttempts int
	NextRetryAt       time.Time
	LastError         string
	// Wakes counts the times the page ran again after being frozen, put in
	// the back-forward cache, or asleep with the machine: the user was away,
	// and what comes in next is news (the banner and the list say so).
	Wakes int
}

// InitialStatus is the status before the first connection attempt ends:
// connecting, with no transport and no measurement yet.
func InitialStatus() Status {
	return Status{
		State:          StateConnecting,
		Quality:        QualityDisconnected,
		ConnectionType: TransportNone,
	}
}

// LatencyText is the latency as people read it ("42 ms"), or "–" when there
// is no measurement.
func (s Status) LatencyText() string {
	if s.Latency <= 0 {
		return "–"
	}
	return fmt.Sprintf("%d ms", s.Latency.Round(time.Millisecond).Milliseconds())
}
