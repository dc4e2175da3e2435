//go:build !wasm

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// wasmSizes are the bytes of one app.wasm and its precompressed copies.
type wasmSizes struct {
	Raw    int64 `json:"raw"`
	Gzip   int64 `json:"gzip"`
	Brotli int64 `json:"brotli"`
}

// clientFigures are the browser-side figures: sizes, and what Playwright
// measured in Chromium.
type clientFigures struct {
	Wasm struct {
		Tether wasmSizes `json:"tether"`
		Hello  wasmSizes `json:"goapp_hello"`
	} `json:"wasm"`
	NavigationToConnectedMS     []float64 `json:"navigation_to_connected_ms"`
	NavigationToConnectedMedian *float64  `json:"navigation_to_connected_median_ms"`
	NavigationToMountedMS       []float64 `json:"hello_navigation_to_mounted_ms"`
	NavigationToMountedMedian   *float64  `json:"hello_navigation_to_mounted_median_ms"`
	ReconnectRunsMS             []float64 `json:"reconnect_after_online_runs_ms"`
	ReconnectAfterOnlineMS      *float64  `json:"reconnect_after_online_median_ms"`
	HalfOpenRunsS               []float64 `json:"halfopen_detection_runs_s"`
	HalfOpenDetectionS          *float64  `json:"halfopen_detection_median_s"`
	// On the emulated slow phone link (see playwright/bench/slowlink.ts):
	// first visits of tether and of the hello world (serving its wasm
	// precompressed), when tether's loader first showed progress above 0%,
	// what crossed the link, and tether's return visits (three after each
	// first visit).
	SlowNavigationToConnectedMS []float64 `json:"slow_link_navigation_to_connected_ms"`
	SlowNavigationToMountedMS   []float64 `json:"slow_link_hello_navigation_to_mounted_ms"`
	SlowFirstProgressMS         []float64 `json:"slow_link_first_progress_ms"`
	SlowFirstVisitKB            []float64 `json:"slow_link_first_visit_kb"`
	SlowReturnVisitS            []float64 `json:"slow_link_return_visit_runs_s"`
	SlowReturnVisitKB           []float64 `json:"slow_link_return_visit_kb"`
}

// playwrightLists are where each list that playwright/bench/client.bench.ts
// writes goes, by its key there.
func (fig *clientFigures) playwrightLists() map[string]*[]float64 {
	return map[string]*[]float64{
		"navConnectedMs": &fig.NavigationToConnectedMS,
		"navMountedMs":   &fig.NavigationToMountedMS,
		"reconnectMs":    &fig.ReconnectRunsMS,
		"halfOpenS":      &fig.HalfOpenRunsS,

		"slowNavConnectedMs":  &fig.SlowNavigationToConnectedMS,
		"slowNavMountedMs":    &fig.SlowNavigationToMountedMS,
		"slowFirstProgressMs": &fig.SlowFirstProgressMS,
		"slowFirstVisitKB":    &fig.SlowFirstVisitKB,
		"slowReturnS":         &fig.SlowReturnVisitS,
		"slowReturnKB":        &fig.SlowReturnVisitKB,
	}
}

// readPlaywright sets the figures of what client.bench.ts wrote, raw, and
// their medians.
func (fig *clientFigures) readPlaywright(raw []byte) error {
	var lists map[string]json.RawMessage
	if err := json.Unmarshal(raw, &lists); err != nil {
		return err
	}
	for key, list := range fig.playwrightLists() {
		if v, ok := lists[key]; ok {
			if err := json.Unmarshal(v, list); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	fig.NavigationToConnectedMedian = medianPtr(fig.NavigationToConnectedMS)
	fig.NavigationToMountedMedian = medianPtr(fig.NavigationToMountedMS)
	fig.ReconnectAfterOnlineMS = medianPtr(fig.ReconnectRunsMS)
	fig.HalfOpenDetectionS = medianPtr(fig.HalfOpenRunsS)
	return nil
}

func readWasmSizes(dir string) (wasmSizes, error) {
	var s wasmSizes
	for _, f := range []struct {
		name string
		size *int64
	}{{"app.wasm", &s.Raw}, {"app.wasm.gz", &s.Gzip}, {"app.wasm.br", &s.Brotli}} {
		info, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			return s, fmt.Errorf("%w (build it first: make bench builds every file it needs)", err)
		}
		*f.size = info.Size()
	}
	return s, nil
}

func medianPtr(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	return ptr(round1(median(xs)))
}

// runClient reads the wasm sizes, then runs the Playwright script against
// a tether dev server with the test backend and the hello world's server.
func runClient(c config, pl plan) (*clientFigures, error) {
	fig := &clientFigures{}
	var err error
	if fig.Wasm.Tether, err = readWasmSizes(c.web); err != nil {
		return fig, err
	}
	if fig.Wasm.Hello, err = readWasmSizes(filepath.Join(c.helloWeb, "web")); err != nil {
		return fig, err
	}
	data, err := os.MkdirTemp("", "tether-bench-client-")
	if err != nil {
		return fig, err
	}
	defer os.RemoveAll(data)
	// Not pinned: Chromium and the servers share both cores, as on a
	// user's machine.
	tether, err := startServer("tether", "", nil, c.tether, "-dev", "-faults", "-addr", "127.0.0.1:0", "-data", filepath.Join(data, "tether"))
	if err != nil {
		return fig, err
	}
	defer tether.stop(10 * time.Second)
	hello, err := startHello(c.hello, c.helloWeb)
	if err != nil {
		return fig, err
	}
	defer hello.stop(5 * time.Second)
	helloBrotli, err := startHello(c.hello, c.helloWeb, "HELLO_WASM_BROTLI=1")
	if err != nil {
		return fig, err
	}
	defer helloBrotli.stop(5 * time.Second)

	outFile := filepath.Join(data, "client.json")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err = runCommand(ctx, c.playwright, []string{
		"TETHER_BENCH_URL=" + tether.URL,
		"HELLO_BENCH_URL=" + hello.URL,
		"HELLO_BROTLI_BENCH_URL=" + helloBrotli.URL,
		"BENCH_SLOW_RUNS=" + strconv.Itoa(pl.slowRuns),
		"BENCH_CLIENT_OUT=" + outFile,
		"BENCH_NAV_RUNS=" + strconv.Itoa(pl.navRuns),
		"BENCH_HALFOPEN_RUNS=" + strconv.Itoa(pl.halfOpenRuns),
	}, "npx", "playwright", "test", "-c", "bench.config.ts")
	if err != nil {
		return fig, err
	}
	raw, err := os.ReadFile(outFile)
	if err != nil {
		return fig, err
	}
	if err := fig.readPlaywright(raw); err != nil {
		return fig, fmt.Errorf("failed to read %s: %w", outFile, err)
	}
	log.Printf("client, slow link: navigation → connected %v ms (hello: → mounted %v ms), progress above 0%% at %v ms, first visit %v KB; return visit %v s, %v KB",
		fig.SlowNavigationToConnectedMS, fig.SlowNavigationToMountedMS, fig.SlowFirstProgressMS, fig.SlowFirstVisitKB, fig.SlowReturnVisitS, fig.SlowReturnVisitKB)
	log.Printf("client: navigation → connected %v ms (hello: → mounted %v ms), reconnect after online %v ms, half-open detected in %v s",
		fig.NavigationToConnectedMS, fig.NavigationToMountedMS, fig.ReconnectRunsMS, fig.HalfOpenRunsS)
	return fig, nil
}

// startHello runs the hello world's server in its folder: go-app's handler
// reads ./web from the working directory. env is added to its environment.
func startHello(binary, dir string, env ...string) (*serverProcess, error) {
	abs, err := filepath.Abs(binary)
	if err != nil {
		return nil, err
	}
	return startServerIn("hello", dir, append([]string{"HELLO_ADDR=127.0.0.1:0"}, env...), abs)
}
