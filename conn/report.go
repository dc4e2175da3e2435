package conn

import "time"

// Report is the status in the shape of the original service's getStatus():
// camelCase JSON, latency in milliseconds, times as Unix milliseconds. The
// browser shows it as window.tether.status() to people debugging in the
// console.
type Report struct {
	State             State          `json:"state"`
	IsConnected       bool           `json:"isConnected"`
	Quality           Quality        `json:"quality"`
	Latency           int64          `json:"latency"`
	ConnectionType    ConnectionType `json:"connectionType"`
	ReconnectAttempts int            `json:"reconnectAttempts"`
	// NextRetryAt is when the next attempt starts, nil when none is due.
	NextRetryAt *int64 `json:"nextRetryAt"`
	LastError   string `json:"lastError,omitempty"`
}

// Report returns the status as a Report.
func (s Status) Report() Report {
	r := Report{
		State:             s.State,
		IsConnected:       s.IsConnected,
		Quality:           s.Quality,
		Latency:           s.Latency.Round(time.Millisecond).Milliseconds(),
		ConnectionType:    s.ConnectionType,
		ReconnectAttempts: s.ReconnectAttempts,
		LastError:         s.LastError,
	}
	if !s.NextRetryAt.IsZero() {
		ms := s.NextRetryAt.UnixMilli()
		r.NextRetryAt = &ms
	}
	return r
}
