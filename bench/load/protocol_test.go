//go:build !wasm

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParsePayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		frame      string
		marker     string
		wantStamp  int64
		wantSender int
		wantOK     bool
	}{
		{"a tether message frame", `{"type":"message","room":"t3","seq":9,"body":"123456789 42 lorem","sent_at":1}`, `"body":"`, 123456789, 42, true},
		{"a centrifuge push", `{"push":{"channel":"t3","pub":{"data":"987 7 lorem","offset":3}}}`, `"data":"`, 987, 7, true},
		{"no marker", `{"type":"ack","room":"t3"}`, `"body":"`, 0, 0, false},
		{"a body that is no payload", `{"type":"message","body":"hello there"}`, `"body":"`, 0, 0, false},
		{"a stamp without a sender", `{"type":"message","body":"123 "}`, `"body":"`, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stamp, sender, ok := parsePayload([]byte(tt.frame), tt.marker)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.wantStamp, stamp)
			assert.Equal(t, tt.wantSender, sender)
		})
	}
}

func TestAPayloadReadsBack(t *testing.T) {
	t.Parallel()
	p := fullPayload(31)
	stamp, sender, ok := parseBody(p)
	assert.True(t, ok)
	assert.Equal(t, 31, sender)
	assert.Positive(t, stamp)
}

func TestReceivedCountsEchoesApartFromLatency(t *testing.T) {
	t.Parallel()
	s := newSink()
	c := &benchConn{idx: 4, sink: s}
	tetherProtocol{}.handle(c, []byte(`{"type":"message","body":"`+string(fullPayload(4))+`"}`))
	tetherProtocol{}.handle(c, []byte(`{"type":"message","body":"`+string(fullPayload(5))+`"}`))
	tetherProtocol{}.handle(c, []byte(`{"type":"ack","room":"r"}`))
	tetherProtocol{}.handle(c, []byte(`{"type":"error","code":"rate_limited"}`))
	assert.Equal(t, int64(2), s.delivered.Load())
	assert.Equal(t, int64(1), s.echoes.Load())
	assert.Equal(t, uint64(1), s.latency.Load().Count(), "only the other member's copy has a latency")
	assert.Equal(t, int64(1), s.acks.Load())
	assert.Equal(t, int64(1), s.errors.Load())
}

func TestCentrifugeFramesHoldSeveralReplies(t *testing.T) {
	t.Parallel()
	s := newSink()
	c := &benchConn{idx: 1, sink: s}
	frame := `{"push":{"channel":"t0","pub":{"data":"` + string(fullPayload(0)) + `","offset":1}}}` + "\n" +
		`{"id":7,"publish":{}}` + "\n" +
		`{"push":{"channel":"t0","pub":{"data":"` + string(fullPayload(1)) + `","offset":2}}}` + "\n" +
		`{"id":8,"error":{"code":103,"message":"permission denied"}}`
	centrifugeProtocol{}.handle(c, []byte(frame))
	assert.Equal(t, int64(2), s.delivered.Load())
	assert.Equal(t, int64(1), s.echoes.Load())
	assert.Equal(t, int64(1), s.acks.Load())
	assert.Equal(t, int64(1), s.errors.Load())
}

func TestRooms(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"h0", "h0", "h1", "h1"}, []string{pairs("h")(0), pairs("h")(1), pairs("h")(2), pairs("h")(3)})
	assert.Equal(t, "lp3", alone("lp")(3))
}
