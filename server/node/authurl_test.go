//go:build !wasm

package node_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/node"
)

func TestAnAuthURLIsAnHTTPSURLOrLoopbackHTTP(t *testing.T) {
	t.Parallel()
	for url, origin := range map[string]string{
		"https://Platform.example.com/tether/token?x=1": "https://platform.example.com",
		"http://127.0.0.1:9000/token":                   "http://127.0.0.1:9000",
		"http://localhost:9000/token":                   "http://localhost:9000",
	} {
		got, err := node.CheckAuthURL(url)
		require.NoError(t, err, url)
		assert.Equal(t, origin, got)
	}
	for _, bad := range []string{
		"/relative/token", "ftp://example.com/token", "http://platform.example.com/token",
		"https://user:pw@example.com/token", "https://example.com/token#x", "https://example.com/a;b",
		"https://example.com/a'b", "https://example.com/a b",
	} {
		_, err := node.CheckAuthURL(bad)
		assert.Error(t, err, bad)
	}
}
