// Command cpuwatch runs a command and reports where the machine's CPU went
// while it ran: CPU seconds per kind of process (Chromium's browser,
// renderer, GPU and utility processes, tether servers, node, the rest) and
// how long runnable tasks waited for a core (Linux's pressure stall
// information). It is how docs/TESTING.md's figures on the end-to-end
// suite were measured:
//
//	go run ./tools/cpuwatch -- make e2e
//
// Linux only: it reads /proc.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times; 100 on every Linux
// this runs on.
const clockTicks = 100

func main() {
	every := flag.Duration("every", 500*time.Millisecond, "sampling interval")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cpuwatch [-every 500ms] -- command [args...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}

	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The command's own signal handling decides; cpuwatch only reports.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM)

	w := newWatch()
	start := time.Now()
	startStat := readStat()
	startCPUStall := readPressure("cpu")
	startIOStall := readPressure("io")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "cpuwatch:", err)
		os.Exit(1)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(*every)
	var err error
loop:
	for {
		select {
		case err = <-done:
			break loop
		case <-tick.C:
			w.sample()
		}
	}
	w.sample()
	wall := time.Since(start)
	endStat := readStat()

	report(os.Stderr, w, wall, startStat, endStat,
		readPressure("cpu")-startCPUStall, readPressure("io")-startIOStall)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		os.Exit(1)
	}
}

// watch keeps each live process's last CPU time and the CPU time gained per
// kind of process.
type watch struct {
	last    map[int]procSample
	perKind map[string]float64 // CPU seconds
	peak    map[string]int     // most live processes of the kind at once
}

type procSample struct {
	start uint64 // start time, to tell a reused pid from the old process
	ticks uint64
	kind  string
}

func newWatch() *watch {
	return &watch{last: map[int]procSample{}, perKind: map[string]float64{}, peak: map[string]int{}}
}

func (w *watch) sample() {
	entries, _ := os.ReadDir("/proc")
	first := len(w.last) == 0
	seen := map[int]bool{}
	live := map[string]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ticks, started, ok := procTicks(pid)
		if !ok {
			continue
		}
		seen[pid] = true
		prev, known := w.last[pid]
		// Classified on every sample: a process may exec another program
		// (Debian's chromium is a shell script) or retitle itself (a
		// zygote's child becomes a renderer) after it was first seen.
		kind := classify(pid)
		if known && prev.start == started {
			w.perKind[kind] += float64(ticks-prev.ticks) / clockTicks
			w.last[pid] = procSample{start: started, ticks: ticks, kind: kind}
			live[kind]++
			continue
		}
		// A process born since the last sample counts from its start; one
		// there before cpuwatch began counts from the first sample.
		if !first {
			w.perKind[kind] += float64(ticks) / clockTicks
		}
		w.last[pid] = procSample{start: started, ticks: ticks, kind: kind}
		live[kind]++
	}
	for pid := range w.last {
		if !seen[pid] {
			delete(w.last, pid)
		}
	}
	for k, n := range live {
		if n > w.peak[k] {
			w.peak[k] = n
		}
	}
}

// procTicks reads a process's user+system CPU ticks and its start time.
func procTicks(pid int) (ticks, started uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// Fields after the name: state is f[0]; utime f[11], stime f[12],
	// starttime f[19].
	if len(f) < 20 {
		return 0, 0, false
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return ut + st, start, true
}

// classify names a process's kind from its command line.
func classify(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return "kernel/other"
	}
	// Chromium's child processes rewrite their title into one string with
	// spaces, so spaces separate arguments too.
	args := strings.Fields(strings.ReplaceAll(string(b), "\x00", " "))
	if len(args) == 0 {
		return "kernel/other"
	}
	base := filepath.Base(args[0])
	switch {
	case strings.Contains(base, "chrom"):
		for _, a := range args[1:] {
			if t, ok := strings.CutPrefix(a, "--type="); ok {
				if t == "utility" {
					for _, a := range args[1:] {
						if s, ok := strings.CutPrefix(a, "--utility-sub-type="); ok {
							return "chromium " + strings.TrimSuffix(strings.TrimPrefix(s, "network.mojom."), "Service")
						}
					}
				}
				return "chromium " + t
			}
		}
		return "chromium browser"
	case base == "tether":
		return "tether server"
	case base == "node" || strings.HasPrefix(base, "node"):
		return "node (playwright)"
	case base == "stress-ng" || base == "cpuhog":
		return "cpu hog"
	case base == "go" || strings.HasPrefix(base, "compile") || base == "link" || base == "vet":
		return "go toolchain"
	}
	return "other: " + base
}

// cpuStat is the machine's total and idle CPU ticks from /proc/stat.
type cpuStat struct{ total, idle uint64 }

func readStat() cpuStat {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuStat{}
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan()
	fields := strings.Fields(s.Text())[1:]
	var c cpuStat
	for i, v := range fields {
		n, _ := strconv.ParseUint(v, 10, 64)
		c.total += n
		if i == 3 || i == 4 { // idle, iowait
			c.idle += n
		}
	}
	return c
}

// readPressure returns the "some" stall total (µs) of /proc/pressure/<what>:
// the time at least one runnable task waited for a CPU (or for I/O).
func readPressure(what string) uint64 {
	b, err := os.ReadFile("/proc/pressure/" + what)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "some ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				n, _ := strconv.ParseUint(v, 10, 64)
				return n
			}
		}
	}
	return 0
}

func report(out *os.File, w *watch, wall time.Duration, a, b cpuStat, cpuStall, ioStall uint64) {
	total := float64(b.total-a.total) / clockTicks
	busy := total - float64(b.idle-a.idle)/clockTicks
	fmt.Fprintf(out, "\ncpuwatch: wall %.0f s; CPU busy %.0f of %.0f core-seconds (%.0f%%)\n",
		wall.Seconds(), busy, total, 100*busy/total)
	fmt.Fprintf(out, "cpuwatch: some task waited for a CPU %.0f%% of the time, for I/O %.0f%%\n",
		100*float64(cpuStall)/float64(wall.Microseconds()), 100*float64(ioStall)/float64(wall.Microseconds()))
	kinds := make([]string, 0, len(w.perKind))
	for k := range w.perKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return w.perKind[kinds[i]] > w.perKind[kinds[j]] })
	fmt.Fprintf(out, "cpuwatch: %-28s %10s %8s %6s\n", "kind", "CPU s", "share", "peak")
	for _, k := range kinds {
		if w.perKind[k] < 0.5 {
			continue
		}
		fmt.Fprintf(out, "cpuwatch: %-28s %10.1f %7.0f%% %6d\n", k, w.perKind[k], 100*w.perKind[k]/busy, w.peak[k])
	}
}
