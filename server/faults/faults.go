//go:build !wasm

// Package faults is tether's test backend: faults a test switches on through
// GET|POST /api/test/faults to break the server on purpose. The server only
// mounts it with -faults; never in production.
package faults

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"tether/server/httpjson"
)

// Settings are the faults in force, as the API shows them.
type Settings struct {
	// RefuseWebSocket answers every upgrade with 503.
	RefuseWebSocket bool `json:"refuse_websocket"`
	// LatencyMS delays every frame the server sends and every HTTP response.
	LatencyMS int `json:"latency_ms"`
	// MutePongs stops answering pings: a half-open link.
	MutePongs bool `json:"mute_pongs"`
	// PageLatencyMS delays every answer outside /api/ (pages, the app's
	// files): a link too slow to open the app from the network.
	PageLatencyMS int `json:"page_latency_ms"`
	// PageStatus, when not 0, answers every request outside /api/ with
	// that 5xx status: a server too busy for pages (the render gate's
	// 503) or a failing proxy in front of it.
	PageStatus int `json:"page_status"`
}

// update is a POST body: only the fields present change. Drop "all" cuts
// every socket without a close frame, once; Close closes every socket once
// with the code and reason given, so a test sees how the client takes each
// close code.
type update struct {
	RefuseWebSocket *bool      `json:"refuse_websocket"`
	LatencyMS       *int       `json:"latency_ms"`
	MutePongs       *bool      `json:"mute_pongs"`
	PageLatencyMS   *int       `json:"page_latency_ms"`
	PageStatus      *int       `json:"page_status"`
	Drop            *string    `json:"drop"`
	Close           *CloseCall `json:"close"`
}

// CloseCall is the "close" fault: the code and reason every open socket is
// closed with.
type CloseCall struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// Hooks are what the faults do to the sockets of the server.
type Hooks struct {
	// Drop cuts every socket without a close frame.
	Drop func()
	// Close closes every socket with a close frame of code and reason.
	Close func(code int, reason string)
}

// MaxLatency bounds the latency a test may add.
const MaxLatency = 60 * time.Second

// Faults holds the faults in force. A nil *Faults means no fault ever.
type Faults struct {
	mu    sync.Mutex
	s     Settings
	hooks Hooks
}

// New returns a Faults with every fault off; hooks act on the sockets for
// "drop" and "close".
func New(hooks Hooks) *Faults { return &Faults{hooks: hooks} }

// Settings returns the faults in force.
func (f *Faults) Settings() Settings {
	if f == nil {
		return Settings{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s
}

// Latency is the delay to add before each frame and HTTP response.
func (f *Faults) Latency() time.Duration {
	return time.Duration(f.Settings().LatencyMS) * time.Millisecond
}

// RefuseWebSocket reports whether upgrades are refused.
func (f *Faults) RefuseWebSocket() bool { return f.Settings().RefuseWebSocket }

// MutePongs reports whether pings go unanswered.
func (f *Faults) MutePongs() bool { return f.Settings().MutePongs }

// Delay waits for the latency in force, or until ctx ends.
func (f *Faults) Delay(ctx context.Context) { wait(ctx, f.Latency()) }

// Pages delays every answer of next by the page latency in force, and
// answers the page status in force instead of next when one is.
func (f *Faults) Pages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := f.Settings()
		wait(r.Context(), time.Duration(s.PageLatencyMS)*time.Millisecond)
		if s.PageStatus != 0 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "page_status fault", s.PageStatus)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// wait waits for d, or until ctx ends.
func wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ServeHTTP serves GET and POST /api/test/faults.
func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		var u update
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		if err := dec.Decode(&u); err != nil && !errors.Is(err, io.EOF) {
			httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "message": "faults body: " + err.Error()})
			return
		}
		if err := f.apply(u); err != nil {
			httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "message": err.Error()})
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		httpjson.Write(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed", "message": r.Method + " is not allowed"})
		return
	}
	httpjson.Write(w, http.StatusOK, f.Settings())
}

func (f *Faults) apply(u update) error {
	if u.LatencyMS != nil && (*u.LatencyMS < 0 || time.Duration(*u.LatencyMS)*time.Millisecond > MaxLatency) {
		return errors.New("latency_ms must be between 0 and 60000")
	}
	if u.PageLatencyMS != nil && (*u.PageLatencyMS < 0 || time.Duration(*u.PageLatencyMS)*time.Millisecond > MaxLatency) {
		return errors.New("page_latency_ms must be between 0 and 60000")
	}
	if u.PageStatus != nil && *u.PageStatus != 0 && (*u.PageStatus < 500 || *u.PageStatus > 599) {
		return errors.New("page_status must be 0 or between 500 and 599")
	}
	if u.Drop != nil && *u.Drop != "all" && *u.Drop != "" {
		return errors.New(`drop must be "all"`)
	}
	// A close frame's code must be one a server may send: 1000-1014 but not
	// the reserved 1004-1006, or an application code 4000-4999. The reason
	// fits a control frame (123 bytes).
	if c := u.Close; c != nil {
		valid := (c.Code >= 1000 && c.Code <= 1014 && (c.Code < 1004 || c.Code > 1006)) || (c.Code >= 4000 && c.Code <= 4999)
		if !valid {
			return errors.New("close.code must be 1000-1003, 1007-1014 or 4000-4999")
		}
		if len(c.Reason) > 123 {
			return errors.New("close.reason must be at most 123 bytes")
		}
	}
	f.mu.Lock()
	if u.RefuseWebSocket != nil {
		f.s.RefuseWebSocket = *u.RefuseWebSocket
	}
	if u.LatencyMS != nil {
		f.s.LatencyMS = *u.LatencyMS
	}
	if u.MutePongs != nil {
		f.s.MutePongs = *u.MutePongs
	}
	if u.PageLatencyMS != nil {
		f.s.PageLatencyMS = *u.PageLatencyMS
	}
	if u.PageStatus != nil {
		f.s.PageStatus = *u.PageStatus
	}
	f.mu.Unlock()
	if u.Drop != nil && *u.Drop == "all" && f.hooks.Drop != nil {
		f.hooks.Drop()
	}
	if u.Close != nil && f.hooks.Close != nil {
		f.hooks.Close(u.Close.Code, u.Close.Reason)
	}
	return nil
}
