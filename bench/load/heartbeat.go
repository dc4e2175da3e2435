//go:build !wasm

package main

import (
	"errors"
	"fmt"
	"time"

	"tether/conn"
	"tether/conn/conntest"
	"tether/conn/wire"
)

// The heartbeat phase: what an idle page sends to keep its link checked,
// visible and hidden. The stability service runs on its fakes with a fake
// clock through an hour of idleness (nothing to say, the link fine), so the
// figure is the service's own pace, not the machine's: pings an hour and
// the bytes of those pings and their pongs on the wire (WebSocket frames:
// the JSON, a 2-byte header each way and the client's 4-byte mask; TCP and
// TLS add their own, the same for both).

// heartbeatHiddenGoal is the issue's: a hidden, healthy page pings at most
// a quarter of the visible pace.
const heartbeatHiddenGoal = 0.25

type heartbeatResult struct {
	VisiblePingsPerHour float64 `json:"visible_pings_per_hour"`
	HiddenPingsPerHour  float64 `json:"hidden_pings_per_hour"`
	VisibleBytesPerHour float64 `json:"visible_bytes_per_hour"`
	HiddenBytesPerHour  float64 `json:"hidden_bytes_per_hour"`
	HiddenRatio         float64 `json:"hidden_ratio"`
}

func runHeartbeat() (heartbeatResult, error) {
	visible, vBytes, err := idleHour(true)
	if err != nil {
		return heartbeatResult{}, err
	}
	hidden, hBytes, err := idleHour(false)
	if err != nil {
		return heartbeatResult{}, err
	}
	r := heartbeatResult{
		VisiblePingsPerHour: float64(visible), HiddenPingsPerHour: float64(hidden),
		VisibleBytesPerHour: float64(vBytes), HiddenBytesPerHour: float64(hBytes),
	}
	if visible > 0 {
		r.HiddenRatio = round2(float64(hidden) / float64(visible))
	}
	return r, nil
}

// idleHour counts the pings an idle page sends in an hour, and their bytes
// with their pongs.
func idleHour(visible bool) (pings int, bytes int, err error) {
	clock := conntest.NewClock(time.Time{})
	srv := conntest.NewServer(clock)
	env := conntest.NewEnv()
	env.SetStart(true, visible)
	svc := conn.New(conn.Config{}, conn.Ports{
		Clock: clock, Dialer: srv.Dialer(), HTTP: srv.HTTP(), Tokens: conntest.NewTokens("token-1"),
		Env: env, Storage: conntest.NewStorage(), Rand: func() float64 { return 0.5 },
	})
	defer svc.Close()
	if err := conntest.Settle(svc, srv, clock); err != nil {
		return 0, 0, err
	}
	if svc.Status().State != conn.StateConnected {
		return 0, 0, fmt.Errorf("not connected: %s", svc.Status().State)
	}
	before := len(srv.Received(wire.TypePing))
	if err := conntest.Advance(svc, srv, clock, time.Hour); err != nil {
		return 0, 0, err
	}
	if svc.Status().State != conn.StateConnected || srv.Stats().Dials != 1 {
		return 0, 0, fmt.Errorf("the idle link did not hold: %s after %d dials", svc.Status().State, srv.Stats().Dials)
	}
	for _, f := range srv.Received(wire.TypePing)[before:] {
		p := f.(*wire.Ping)
		ping, err1 := wire.Encode(p)
		pong, err2 := wire.Encode(&wire.Pong{ID: p.ID})
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("failed to encode a ping or its pong: %w", errors.Join(err1, err2))
		}
		bytes += len(ping) + 2 + 4 + len(pong) + 2
		pings++
	}
	return pings, bytes, nil
}
