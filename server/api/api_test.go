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
				var body wire.HTTPError
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
