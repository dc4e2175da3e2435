//go:build !wasm

// Package httpjson writes the JSON answers of the server's HTTP routes, one
// way for every package that serves some (api, chat, faults).
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write answers status with v as JSON. No answer is cached: each is of
// one user and of the moment.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
