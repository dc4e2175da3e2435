//go:build !wasm

package node_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tether/server/node"
)

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want bool
	}{
		{"localhost:8080", true},
		{"LOCALHOST:8080", true},
		{"127.0.0.1:0", true},
		{"127.8.9.10:8080", true},
		{"[::1]:8080", true},
		{"[::ffff:127.0.0.1]:8080", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"192.168.1.5:8080", false},
		{"[2001:db8::1]:8080", false},
		{"example.com:8080", false},
		{"localhost.example.com:8080", false},
		{"localhost", false},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, node.IsLoopback(tt.addr), tt.addr)
	}
}

func TestCheckExposure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  node.Config
		wantErr []string // nil: allowed
	}{
		{name: "production listens anywhere", config: node.Config{Addr: ":8080"}},
		{name: "dev on localhost is allowed", config: node.Config{Addr: "localhost:8080", Dev: true}},
		{name: "dev and faults on 127.0.0.1 are allowed", config: node.Config{Addr: "127.0.0.1:0", Dev: true, Faults: true}},
		{name: "faults on ::1 is allowed", config: node.Config{Addr: "[::1]:0", Faults: true}},
		{name: "dev on every interface is refused", config: node.Config{Addr: ":8080", Dev: true},
			wantErr: []string{"-dev (tokens for any user and room) must listen on a loopback address", `not ":8080"`, "-addr localhost:8080", "-insecure-public-dev"}},
		{name: "faults on 0.0.0.0 is refused", config: node.Config{Addr: "0.0.0.0:8080", Faults: true},
			wantErr: []string{"-faults (anyone can cut every connection) must listen", "-insecure-public-dev"}},
		{name: "dev and faults on :: name both", config: node.Config{Addr: "[::]:8080", Dev: true, Faults: true},
			wantErr: []string{"-dev (tokens for any user and room) and -faults"}},
		{name: "dev on a host name is refused: it may resolve to anything", config: node.Config{Addr: "tether.example.com:8080", Dev: true},
			wantErr: []string{"loopback"}},
		{name: "dev on a public address is allowed when the operator says so",
			config: node.Config{Addr: ":8080", Dev: true, Faults: true, InsecurePublicDev: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.config.CheckExposure()
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			for _, s := range tt.wantErr {
				assert.ErrorContains(t, err, s)
			}
		})
	}
}

// Run refuses before it creates, opens or prints anything.
func TestRunRefusesDevAndFaultsBeyondLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config node.Config
	}{
		{name: "dev on every interface", config: node.Config{Addr: ":0", Dev: true}},
		{name: "faults on 0.0.0.0", config: node.Config{Addr: "0.0.0.0:0", Faults: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout bytes.Buffer
			tt.config.DataDir = filepath.Join(t.TempDir(), "data")
			m := &node.Main{Config: tt.config, Stdout: &stdout, Logger: slog.New(slog.DiscardHandler), Secret: []byte("a-test-secret-of-at-least-32-bytes-long")}
			err := m.Run(t.Context())
			require.ErrorContains(t, err, "must listen on a loopback address")
			assert.Empty(t, stdout.String(), "nothing serves")
			assert.NoDirExists(t, tt.config.DataDir, "nothing was created")
			assert.NoError(t, m.Close())
		})
	}
}
