package conn_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn"
)

func TestReportIsTheOriginalsGetStatusShape(t *testing.T) {
	t.Parallel()
	retry := time.UnixMilli(1_764_000_000_123)
	tests := []struct {
		name   string
		status conn.Status
		want   string
	}{
		{
			name:   "connected on websocket",
			status: conn.Status{State: conn.StateConnected, IsConnected: true, Quality: conn.QualityExcellent, Latency: 42400 * time.Microsecond, ConnectionType: conn.TransportWebSocket},
			want:   `{"state":"connected","isConnected":true,"quality":"excellent","latency":42,"connectionType":"websocket","reconnectAttempts":0,"nextRetryAt":null}`,
		},
		{
			name:   "reconnecting with an error and a retry due",
			status: conn.Status{State: conn.StateReconnecting, Quality: conn.QualityDisconnected, ConnectionType: conn.TransportNone, ReconnectAttempts: 3, NextRetryAt: retry, LastError: "failed to dial"},
			want:   `{"state":"reconnecting","isConnected":false,"quality":"disconnected","latency":0,"connectionType":"none","reconnectAttempts":3,"nextRetryAt":1764000000123,"lastError":"failed to dial"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.status.Report())
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}
