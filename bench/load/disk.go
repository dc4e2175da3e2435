//go:build !wasm

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// diskResult is what the disk under the data folder does on its own: the
// physical floor under tether's delivery latency, since every message is
// synced to it before anyone receives it.
type diskResult struct {
	Seconds float64 `json:"seconds"`
	Syncs   int     `json:"syncs"`
	P50MS   float64 `json:"p50_ms"`
	P99MS   float64 `json:"p99_ms"`
	P999MS  float64 `json:"p999_ms"`
	MaxMS   float64 `json:"max_ms"`
	// Stalls are the syncs that took over stallThreshold; StalledShare is
	// the share of the run's time spent in them.
	Stalls       int     `json:"stalls_over_10ms"`
	StalledShare float64 `json:"stalled_share"`
}

const stallThreshold = 10 * time.Millisecond

// runDisk writes the way SQLite's WAL does under load, 16 KiB appended
// (wrapping within 40 MiB, so the file stops growing) and fdatasync'd, with
// 1 ms between commits, for d, in dir: nothing else of the harness runs
// meanwhile.
func runDisk(dir string, d time.Duration) (diskResult, error) {
	var res diskResult
	f, err := os.CreateTemp(dir, "disk-probe-")
	if err != nil {
		return res, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	const size, span = 16 << 10, 40 << 20
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i)
	}
	hist := &histogram{}
	var stalled time.Duration
	start := time.Now()
	for off := int64(0); time.Since(start) < d; off = (off + size) % span {
		if _, err := f.WriteAt(buf, off); err != nil {
			return res, fmt.Errorf("failed to write %s: %w", filepath.Base(f.Name()), err)
		}
		t := time.Now()
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return res, fmt.Errorf("failed to fdatasync %s: %w", filepath.Base(f.Name()), err)
		}
		took := time.Since(t)
		hist.record(took)
		if took > stallThreshold {
			res.Stalls++
			stalled += took
		}
		time.Sleep(time.Millisecond)
	}
	wall := time.Since(start)
	res.Seconds = round1(wall.Seconds())
	res.Syncs = int(hist.count.Load())
	res.P50MS, res.P99MS, res.P999MS = ms(hist.Quantile(0.5)), ms(hist.Quantile(0.99)), ms(hist.Quantile(0.999))
	res.MaxMS = ms(hist.Max())
	res.StalledShare = round3(stalled.Seconds() / wall.Seconds())
	return res, nil
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
