//go:build !wasm

package httpjson_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"tether/server/httpjson"
)

func TestWriteAnswersUncachedJSON(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	httpjson.Write(w, http.StatusCreated, map[string]int{"seq": 7})
	assert.Equal(t, http.StatusCreated, w.Code)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.JSONEq(t, `{"seq":7}`, w.Body.String())
}
