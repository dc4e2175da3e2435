package components_test

import (
	"time"

	"tether/components"
	"tether/conn"
	"tether/conn/conntest"
)

// The tests drive the components with conntest's status source, as the
// page drives them with the service.
var (
	_ components.StatusSource = (*conntest.StatusSource)(nil)
	_ components.OutboxSource = (*conntest.StatusSource)(nil)
)

// t0 is where the tests' clocks start: a fixed moment, so tests never
// read the wall clock.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// queued is an outbox entry waiting to go.
func queued(id string) conn.OutboxEntry {
	return conn.OutboxEntry{ClientID: id, Room: "r1", Body: "hello " + id, Created: t0}
}

// failed is an outbox entry that gave up.
func failed(id string) conn.OutboxEntry {
	e := queued(id)
	e.Failed, e.LastError = true, "server answered invalid_body"
	return e
}
