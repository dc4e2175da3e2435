//go:build !unix && !wasm

package sqlite_test

import "time"

// processCPU returns 0 where getrusage is missing: the benchmarks then
// report no CPU per append.
func processCPU() time.Duration { return 0 }
