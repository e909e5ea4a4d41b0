//go:build linux

package pluginproc

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// BenchmarkPluginRestartMemory kills the real plugin with SIGKILL and heals
// it (the next Get starts a fresh one), b.N times, as a service pod does in a
// crash loop (no backoff waits here). It reports the host's memory growth
// from the tenth of the restarts to the last: live heap after GC per
// restart, RSS, and goroutines. Issue 16's figure: -benchtime 200x.
func BenchmarkPluginRestartMemory(b *testing.B) {
	_, srv := newTenant(b, 20)
	l := NewLazy(Options{Path: realPlugin, Settings: &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: srv.URL}})
	l.afterFunc = func(time.Duration) <-chan time.Time {
		now := make(chan time.Time, 1)
		now <- time.Time{}
		return now
	}
	defer l.kill()
	ctx := context.Background()
	if _, err := l.Get(ctx); err != nil {
		b.Fatal(err)
	}
	mark := max(b.N/10, 1)
	var heap0, rss0 uint64
	var goroutines0 int
	b.ResetTimer()
	for i := range b.N {
		if i == mark {
			heap0, rss0, goroutines0 = hostMemory(b)
		}
		killPlugin(b, l)
		if _, err := l.Get(ctx); err != nil {
			b.Fatalf("Get after restart %d: %v", i+1, err)
		}
	}
	b.StopTimer()
	if b.N <= mark {
		return
	}
	heap1, rss1, goroutines1 := hostMemory(b)
	b.ReportMetric((float64(heap1)-float64(heap0))/float64(b.N-mark), "heap-B/restart")
	b.ReportMetric(float64(heap0)/1024, "heap-KiB-at-mark")
	b.ReportMetric(float64(heap1)/1024, "heap-KiB-at-end")
	b.ReportMetric((float64(rss1)-float64(rss0))/1024, "rss-KiB-growth")
	b.ReportMetric(float64(goroutines1-goroutines0), "goroutines-growth")
}

// hostMemory is this process's live heap after a full GC, its RSS and its
// goroutine count.
func hostMemory(b *testing.B) (heap, rss uint64, goroutines int) {
	b.Helper()
	time.Sleep(100 * time.Millisecond) // let the last plugin's goroutines end
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb * 1024
		}
	}
	return ms.HeapAlloc, rss, runtime.NumGoroutine()
}
