// Command activity measures what member activity enrichment costs a sync:
// for each team size it runs one-shot syncs through baton-cursor against the
// simulated tenant with Cursor's 20-a-minute team limit on, with the default
// cursor-activity-days (30) and with 0 (off), a fresh tenant per sync, and
// reports wall time, enrichment requests and 429s against the budgets. `make
// bench` writes its section of BENCHMARKS.md (one with latency, one without).
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

	"github.com/conductorone/baton-cursor/internal/bench/mdsection"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

var (
	binDir    = flag.String("bin", "bin", "folder holding baton-cursor and baton-cursor-plugin")
	sizesFlag = flag.String("sizes", "1000,10000,100000", "comma-separated team sizes")
	runs      = flag.Int("runs", 2, "syncs per size and setting (median reported)")
	out       = flag.String("out", "", "markdown file whose section this command rewrites (empty: print only)")
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

// Budgets (docs/design.md; issue 12 without latency, issue 18 item 2 with it).
const (
	latencyBudget     = 1.15 // on/off wall with latency on every answer, every size
	wallBudget10k     = 2.0  // on/off wall at 10,000 members
	requestBudget10k  = 20   // enrichment requests at 10,000 members
	requestBudget100k = 120  // at 100,000, or degrade with a WARNING
)

func main() {
	flag.Parse()
	began, loadBefore := time.Now(), mdsection.LoadAvg()
	var rows strings.Builder
	met := true
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
		ratio := on.wall.Seconds() / off.wall.Seconds()
		budget, ok := verdict(n, ratio, on)
		met = met && ok
		fmt.Fprintf(&rows, "| %d | %.3f | %.3f | %.2f | %.2f | %.2f | %.2f | %d | %s | %d | %v | %s | %s |\n", n, off.wall.Seconds(), on.wall.Seconds(),
			ratio, off.cpu.Seconds(), on.cpu.Seconds(), on.cpu.Seconds()/off.cpu.Seconds(),
			on.requests, on.perRoute, on.limited, on.warning, budget, verdictWord(ok))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s", title(), mdsection.Stamp(began, loadBefore))
	fmt.Fprintf(&b, "- `go run ./internal/bench/activity %s`: one-shot syncs through baton-cursor, %d per cell, median; a fresh simulated tenant per sync with Cursor's limit of 20 Admin API requests a minute (all routes together); CPU is the sync's processes' (the tenant runs in this program)\n", strings.Join(os.Args[1:], " "), *runs)
	if *latency > 0 {
		fmt.Fprintf(&b, "- every Cursor answer waits %s (the simulator's latency fault). Budget: on ≤ %.2fx off at every size\n", *latency, latencyBudget)
	} else {
		fmt.Fprintf(&b, "- Budgets: at 10,000 members at most %d enrichment requests and on ≤ %.1fx off; at 100,000 at most %d requests or degrade with a WARNING; other sizes for information\n", requestBudget10k, wallBudget10k, requestBudget100k)
	}
	fmt.Fprintf(&b, "- on: the default `cursor-activity-days` 30; off: `--cursor-activity-days 0`; verdicts use unrounded values\n\n")
	fmt.Fprintf(&b, "| members | off wall (s) | on wall (s) | wall on/off | off CPU (s) | on CPU (s) | CPU on/off | enrichment requests | audit / usage / spend | 429s | degraded (WARNING) | budget | verdict |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- | --- |\n")
	b.WriteString(rows.String())
	fmt.Print(b.String())
	if *out != "" {
		if err := mdsection.Write(*out, title(), b.String()); err != nil {
			fail(err)
		}
	}
	if !met {
		fmt.Fprintln(os.Stderr, "activity bench: a budget is not met (see the verdicts)")
	}
}

// title heads this command's section: one with latency, one without.
func title() string {
	if *latency > 0 {
		return fmt.Sprintf("## Activity enrichment with %s answers (internal/bench/activity)", *latency)
	}
	return "## Activity enrichment (internal/bench/activity)"
}

// verdict says which budget holds at n members and whether r meets it.
func verdict(n int, ratio float64, r result) (string, bool) {
	switch {
	case *latency > 0:
		return fmt.Sprintf("on/off ≤ %.2fx", latencyBudget), ratio <= latencyBudget
	case n == 10000:
		return fmt.Sprintf("≤ %d requests, on/off ≤ %.1fx", requestBudget10k, wallBudget10k), r.requests <= requestBudget10k && ratio <= wallBudget10k
	case n >= 100000:
		return fmt.Sprintf("≤ %d requests or degrade", requestBudget100k), r.requests <= requestBudget100k || r.warning
	}
	return "information", true
}

func verdictWord(ok bool) string {
	if ok {
		return "met"
	}
	return "**NOT MET**"
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
	// The simulator builds its activity history on the first activity
	// request (1.8 s at 100,000 members); Cursor has it ready, so it is built
	// before the clock starts, for the off syncs too.
	tenant.ActivityToday()
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
