package conntest

import (
	"testing"

	"go.uber.org/goleak"
)

// VerifyNoLeaks runs m's tests, then fails them if a goroutine is left
// running: every package of the client calls it from TestMain, so that
// Close is proved to leave nothing behind. In the browser (make test-wasm)
// the Go runtime parks a goroutine of its own in runtime.handleEvent to take
// JavaScript callbacks; it is not ours.
func VerifyNoLeaks(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
