// Package api serves tether's HTTP API under /api/.
package api

import (
	"encoding/json"
	"net/http"
)

// New returns the handler for every path under /api/.
func New() http.Handler {
	mux := http.NewServeMux()
	// Ping tells a client that the network reaches the server even when
	// WebSocket does not; it must stay cheap and never be cached.
	mux.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	})
	// The catch-all below matches every method, so ServeMux never answers
	// 405 by itself: without this, POST /api/ping would claim the path does
	// not exist.
	mux.HandleFunc("/api/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "not_found", "no such API path: "+r.URL.Path)
	})
	return mux
}

// Error is the body of every API error.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

// WriteError answers with status and a JSON error body.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Error{Code: code, Message: message})
}
