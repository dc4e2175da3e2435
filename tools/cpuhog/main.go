// Command cpuhog keeps every core busy, at normal priority, until it is
// stopped or its -for duration ends: the noisy neighbour of a shared CI
// machine, for checking that a test suite holds when it gets only part of
// the CPU (docs/TESTING.md):
//
//	go run ./tools/cpuhog -for 20m & make e2e
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	n := flag.Int("n", runtime.NumCPU(), "busy threads")
	d := flag.Duration("for", time.Hour, "how long to run")
	flag.Parse()
	runtime.GOMAXPROCS(*n)
	fmt.Fprintf(os.Stderr, "cpuhog: %d busy threads for %s\n", *n, *d)
	for i := 0; i < *n; i++ {
		go spin()
	}
	time.Sleep(*d)
}

// spin burns CPU without allocating; x escapes nowhere, so the loop is the
// whole cost.
func spin() {
	x := uint64(1)
	for {
		for i := 0; i < 1<<20; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if x == 0 {
			fmt.Println(x)
		}
	}
}
