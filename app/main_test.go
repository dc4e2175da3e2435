package app_test

import (
	"testing"

	"tether/conn/conntest"
)

// Every test leaves nothing running: the chat store and the service it sits
// on stop their goroutines on Close.
func TestMain(m *testing.M) { conntest.VerifyNoLeaks(m) }
