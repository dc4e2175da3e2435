//go:build !wasm

package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/conn/wire"
	"tether/server/api"
)

func TestAPI(t *testing.T) {
	t.Parallel()
	h := api.New(api.Config{})
	tests := []struct {
		name   string
		method string
		path   string
		status int
		// errorCode is the JSON "error" field expected; "" for no JSON body.
		errorCode string
	}{
		{name: "ping answers no content", method: http.MethodGet, path: "/api/ping", status: http.StatusNoContent},
		{name: "ping answers HEAD too", method: http.MethodHead, path: "/api/ping", status: http.StatusNoContent},
		{name: "ping refuses POST as a JSON method_not_allowed", method: http.MethodPost, path: "/api/ping", status: http.StatusMethodNotAllowed, errorCode: "method_not_allowed"},
		{name: "ping refuses DELETE as a JSON method_not_allowed", method: http.MethodDelete, path: "/api/ping", status: http.StatusMethodNotAllowed, errorCode: "method_not_allowed"},
		{name: "an unknown API path is a JSON not_found", method: http.MethodGet, path: "/api/nope", status: http.StatusNotFound, errorCode: "not_found"},
		{name: "a path below ping is a JSON not_found", method: http.MethodGet, path: "/api/ping/x", status: http.StatusNotFound, errorCode: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			require.Equal(t, tt.status, w.Code)
			switch {
			case tt.status == http.StatusNoContent:
				// A cached ping would claim the server is reachable when it is not.
				assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
				assert.Empty(t, w.Body.Bytes())
			case tt.errorCode != "":
				if tt.status == http.StatusMethodNotAllowed {
					assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
				}
				assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
				assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
				var body wire.ErrorBody
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), "body %q", w.Body.String())
				assert.Equal(t, tt.errorCode, body.Code)
				assert.Contains(t, body.Message, tt.path)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		code    string
		message string
	}{
		{name: "a client error keeps its status, code and message", status: http.StatusBadRequest, code: "bad_request", message: "room is not valid"},
		{name: "a server error keeps its status, code and message", status: http.StatusInternalServerError, code: "internal", message: "try again"},
		{name: "a message with quotes stays valid JSON", status: http.StatusConflict, code: "conflict", message: `"already" <taken>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			api.WriteError(w, tt.status, tt.code, tt.message)
			require.Equal(t, tt.status, w.Code)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			var body map[string]string
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.Equal(t, map[string]string{"error": tt.code, "message": tt.message}, body)
		})
	}
}

func TestCORSForAllowedOrigins(t *testing.T) {
	t.Parallel()
	h := api.New(api.Config{AllowedOrigins: []string{"localhost:*"}})

	t.Run("a preflight from an allowed origin is answered", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodOptions, "/api/rooms/r1/messages", nil)
		r.Header.Set("Origin", "http://localhost:41234")
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusNoContent, w.Code)
		assert.Equal(t, "http://localhost:41234", w.Header().Get("Access-Control-Allow-Origin"))
		assert.Contains(t, w.Header().Get("Access-Control-Allow-Headers"), "Authorization")
		assert.Contains(t, w.Header().Get("Access-Control-Allow-Methods"), "POST")
	})

	t.Run("an answer to an allowed origin is readable with its Retry-After", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/api/ping", nil)
		r.Header.Set("Origin", "http://localhost:41234")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusNoContent, w.Code)
		assert.Equal(t, "http://localhost:41234", w.Header().Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "Retry-After", w.Header().Get("Access-Control-Expose-Headers"))
	})

	t.Run("another origin gets no CORS header", func(t *testing.T) {
		for _, origin := range []string{"http://evil.example", "null", "http://localhost.evil.example:80"} {
			r := httptest.NewRequest(http.MethodOptions, "/api/ping", nil)
			r.Header.Set("Origin", origin)
			r.Header.Set("Access-Control-Request-Method", "GET")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"), origin)
			assert.NotEqual(t, http.StatusNoContent, w.Code, origin)
		}
	})
}
