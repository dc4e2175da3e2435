//go:build !wasm

package chat

import (
	"time"

	"github.com/panjf2000/ants/v2"
)

// tasks runs each session's bursts of input and its writer on goroutines
// kept from one task to the next. A goroutine started afresh per burst, as
// before, begins with the smallest stack, and decoding, the store's append
// and the fan-out grew it every time: stack copies were 8 % of the server's
// CPU at 4,000 publishes/s. Idle sessions still hold no goroutine of these;
// workers idle for idleWorker are let go.
var tasks = newTasks()

// idleWorker is how long a worker waits for its next task before it ends.
const idleWorker = 10 * time.Second

func newTasks() *ants.Pool {
	p, err := ants.NewPool(-1, // as many as run at once: a task never waits for a worker
		ants.WithExpiryDuration(idleWorker),
		// A panic in a session's task ends the process, as it did on a
		// goroutine of its own, instead of leaving the session stuck.
		ants.WithPanicHandler(func(v any) { panic(v) }),
	)
	if err != nil {
		panic(err)
	}
	return p
}

// spawn runs f on a pooled goroutine, or on a new one should the pool refuse.
func spawn(f func()) {
	if tasks.Submit(f) != nil {
		go f()
	}
}
