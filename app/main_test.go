package app_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test leaves nothing running: the chat store and the service it sits
// on stop their goroutines on Close. In the browser the Go runtime parks a
// goroutine of its own in runtime.handleEvent; it is not ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
