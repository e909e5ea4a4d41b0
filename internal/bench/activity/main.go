// Command activity measures what member activity enrichment costs a sync:
// for each team size it runs one-shot syncs through baton-cursor against the
// simulated tenant with Cursor's 20-a-minute team limit on, with the default
// cursor-activity-days (30) and with 0 (off), a fresh tenant per sync, and
// reports wall time, enrichment requests and 429s. `make bench` appends its
// report to BENCHMARKS.md.
package main

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

var (
	binDir    = flag.String("bin", "bin", "folder holding baton-cursor and baton-cursor-plugin")
	sizesFlag = flag.String("sizes", "1000,10000,100000", "comma-separated team sizes")
	runs      = flag.Int("runs", 2, "syncs per size and setting (median reported)")
	appendTo  = flag.String("append", "", "file to append the report to (empty: print only)")
	latency   = flag.Duration("latency", 0, "latency of every Cursor answer (the simulator's Faults.Latency), e.g. 100ms")
)

const key = "crsr_bench-activity-key"

type result struct {
	wall      time.Duration
	cpu       time.Duration // user+system of the host's process tree (wait4 counts reaped descendants)
	requests  int           // audit + usage + spend
	perRoute  string
	limited   int // 429s the team limit sent, any route
	warning   bool
	rosterGet int
}

func main() {
	flag.Parse()
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Activity enrichment (internal/bench/activity)\n\n")
	fmt.Fprintf(&b, "- date: %s; %d sync(s) per cell, median; a fresh simulated tenant per sync with Cursor's limit of 20 Admin API requests a minute (all routes together)\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), *runs)
	fmt.Fprintf(&b, "- load average at the start: %s (wall times on a shared machine vary with it; CPU time of the sync's processes less so; the simulated tenant's own work runs in this program and is in neither)\n", loadAvg())
	if *latency > 0 {
		fmt.Fprintf(&b, "- every Cursor answer waits %s (the simulator's latency fault). Budget (issue 18.2): on ≤ 1.15x off\n", *latency)
	}
	fmt.Fprintf(&b, "- on: the default `cursor-activity-days` 30; off: `--cursor-activity-days 0`. Budget (issue 12): at 10,000 members at most 20 enrichment requests and on ≤ 2x off; at 100,000 at most 120 or degrade\n\n")
	fmt.Fprintf(&b, "| members | off wall (s) | on wall (s) | wall on/off | off CPU (s) | on CPU (s) | CPU on/off | enrichment requests | audit / usage / spend | 429s | degraded (WARNING) |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |\n")
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(fmt.Errorf("bad size %q", s))
		}
		fmt.Fprintf(os.Stderr, "activity bench: %d members ...\n", n)
		off, err := median(n, "0")
		if err != nil {
			fail(err)
		}
		on, err := median(n, "30")
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(&b, "| %d | %.3f | %.3f | %.2f | %.2f | %.2f | %.2f | %d | %s | %d | %v |\n", n, off.wall.Seconds(), on.wall.Seconds(),
			on.wall.Seconds()/off.wall.Seconds(), off.cpu.Seconds(), on.cpu.Seconds(), on.cpu.Seconds()/off.cpu.Seconds(),
			on.requests, on.perRoute, on.limited, on.warning)
	}
	fmt.Print(b.String())
	if *appendTo != "" {
		f, err := os.OpenFile(*appendTo, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		if _, err := f.WriteString(b.String()); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "activity bench:", err)
	os.Exit(1)
}

func median(n int, days string) (result, error) {
	var rs []result
	for range *runs {
		r, err := syncOnce(n, days)
		if err != nil {
			return result{}, err
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b result) int { return int(a.wall - b.wall) })
	return rs[len(rs)/2], nil
}

func syncOnce(n int, days string) (result, error) {
	tenant, err := simulator.New(simulator.Config{Members: n, Seed: 1, APIKey: key, RateLimitPerMinute: 20, Faults: simulator.Faults{Latency: *latency}})
	if err != nil {
		return result{}, err
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "activity-bench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(filepath.Join(*binDir, "baton-cursor"), "--cursor-base-url", srv.URL,
		"--cursor-activity-days", days, "-f", filepath.Join(dir, "out.c1z"))
	cmd.Env = append(os.Environ(), "BATON_CURSOR_API_KEY="+key)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("%d members, activity-days %s: %v\n%s", n, days, err, out)
	}
	a, u, s := tenant.Requests("/teams/audit-logs"), tenant.Requests("/teams/daily-usage-data"), tenant.Requests("/teams/spend")
	return result{
		wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), requests: a + u + s, perRoute: fmt.Sprintf("%d / %d / %d", a, u, s),
		limited: strings.Count(string(out), "HTTP 429"), warning: strings.Contains(string(out), "member activity is incomplete"),
		rosterGet: tenant.Requests("/teams/members"),
	}, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
