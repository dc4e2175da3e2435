package wasm_exec_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tether/wasm_exec"
)

// The toolchain's file is found through `go env GOROOT` rather than
// runtime.GOROOT, so the check follows the go command that builds app.wasm.
func TestMatchesToolchain(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err, "go env GOROOT")
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, wasm_exec.JS),
		"wasm_exec/wasm_exec.js differs from the toolchain's: run `make build` and commit the copy")
}
