// Package prof profiles a process that may be killed at any moment, as
// baton-sdk's _connector-service child and the plugin are at the end of a
// sync: it writes the CPU profile in slices of a quarter second (merge them
// with `go tool pprof BIN DIR/NAME-cpu-*`), the heap profile after every
// slice, and the heap profile again whenever the live heap reaches a new high.
// Only the benchmark wrappers in internal/bench/prof use it.
package prof

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// DirEnv names the folder profiles are written to; unset, nothing is profiled.
// It does not start with BATON_, so it reaches the plugin too.
const DirEnv = "CURSOR_BENCH_PROFILE_DIR"

const slice = 250 * time.Millisecond

// Start profiles this process into $CURSOR_BENCH_PROFILE_DIR as NAME-PID-*.
func Start(name string) {
	dir := os.Getenv(DirEnv)
	if dir == "" {
		return
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%d", name, os.Getpid()))
	go func() {
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var peak uint64
		for i := 0; ; i++ {
			f, err := os.Create(fmt.Sprintf("%s-cpu-%04d.pprof", base, i))
			if err != nil {
				return
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return
			}
			time.Sleep(slice)
			pprof.StopCPUProfile()
			f.Close()
			writeHeap(base + "-heap.pprof")
			if metrics.Read(live); live[0].Value.Uint64() > peak+peak/50 {
				peak = live[0].Value.Uint64()
				writeHeap(base + "-heap-peak.pprof")
			}
		}
	}()
}

// writeHeap replaces path with the current heap profile (in-use as of the
// last GC, allocations since start).
func writeHeap(path string) {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return
	}
	err = pprof.Lookup("heap").WriteTo(f, 0)
	if f.Close() == nil && err == nil {
		_ = os.Rename(path+".tmp", path)
	}
}
