//go:build linux

package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conductorone/baton-cursor/internal/bench/mdsection"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// The SCIM budget (issue 11): with every Admin API and SCIM answer 100 ms
// away, a sync that also lists the SCIM directory takes at most 1.5x the same
// sync without SCIM.
var (
	scimSize    = flag.Int("scim", 100000, "team size for the SCIM budget (0: skip it)")
	scimLatency = flag.Duration("scim-latency", 100*time.Millisecond, "latency of every Admin API and SCIM answer in the SCIM budget")
	// 100: the count WorkOS's own scim-bridge pages with (docs/cursor-api.md §4.4), the most requests a listing takes (issue 18.3).
	scimMaxResults = flag.Int("scim-max-results", 100, "the tenant's SCIM page cap in the SCIM budget")
	scimBefore     = flag.String("scim-before", "", "folder with baton-cursor and baton-cursor-plugin of another build (e.g. an older commit), timed with SCIM as well")
	scimOnly       = flag.Bool("scim-only", false, "run only the SCIM budget")
)

const scimBudget = 1.5 // × the same sync without SCIM

type scimVariant struct {
	name  string
	bin   string // folder holding baton-cursor
	scim  bool
	walls []time.Duration
	lists []int // SCIM list requests per sync
}

// scimTitle heads the SCIM budget's section of the report.
const scimTitle = "## SCIM at scale (internal/bench/run)"

// benchSCIM times syncs without SCIM, with SCIM, and with SCIM through the
// -scim-before build, interleaved, against one tenant.
func benchSCIM(dir string) (string, error) {
	began, loadBefore := time.Now(), mdsection.LoadAvg()
	n := *scimSize
	url, stop, err := startSCIMTenant(n)
	if err != nil {
		return "", err
	}
	defer stop()
	variants := []*scimVariant{{name: "without SCIM", bin: *binDir}, {name: "with SCIM", bin: *binDir, scim: true}}
	if *scimBefore != "" {
		variants = append(variants, &scimVariant{name: "with SCIM, " + *scimBefore, bin: *scimBefore, scim: true})
	}
	out := filepath.Join(dir, "scim.c1z")
	for i := range *warmup + *runs {
		for _, v := range variants {
			wall, lists, err := scimSync(v, url, out, filepath.Join(dir, "scim.log"))
			if err != nil {
				return "", fmt.Errorf("%s: %w", v.name, err)
			}
			if i >= *warmup {
				v.walls, v.lists = append(v.walls, wall), append(v.lists, lists)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s", scimTitle, mdsection.Stamp(began, loadBefore))
	fmt.Fprintf(&b, "`baton-cursor --cursor-base-url URL -f out.c1z` against `cursor-simulator --members %d --seed %d --scim --latency %s --scim-max-results %d` "+
		"(every Admin API and SCIM answer waits %s; SCIM pages hold at most %d users), with and without `BATON_CURSOR_SCIM_URL`/`_TOKEN`; "+
		"%d measured runs of each after %d warm-up, interleaved; medians.\n\n",
		n, *seed, *scimLatency, *scimMaxResults, *scimLatency, *scimMaxResults, *runs, *warmup)
	b.WriteString("| sync | wall (s) | runs (s) | SCIM list requests per sync |\n| --- | ---: | --- | --- |\n")
	for _, v := range variants {
		fmt.Fprintf(&b, "| %s | %.3f | %s | %s |\n", v.name, median(v.walls).Seconds(), joinSecs(v.walls), joinInts(v.lists))
	}
	without, with := median(variants[0].walls), median(variants[1].walls)
	ratio := with.Seconds() / without.Seconds()
	verdict := "met"
	if ratio > scimBudget {
		verdict = "**NOT MET**"
	}
	fmt.Fprintf(&b, "\nBudget: with SCIM ≤ %.1f× without: %.3f× (%.3f s vs %.3f s): %s\n", scimBudget, ratio, with.Seconds(), without.Seconds(), verdict)
	if len(variants) > 2 {
		before := median(variants[2].walls)
		fmt.Fprintf(&b, "\n%s: %.3f× without SCIM (%.3f s)\n", variants[2].name, before.Seconds()/without.Seconds(), before.Seconds())
	}
	return b.String(), nil
}

func scimSync(v *scimVariant, url, out, logPath string) (time.Duration, int, error) {
	_ = os.Remove(out)
	log, err := os.Create(logPath)
	if err != nil {
		return 0, 0, err
	}
	defer log.Close()
	before, err := simulator.RequestCounts(url)
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(filepath.Join(v.bin, "baton-cursor"), "--cursor-base-url", url, "-f", out)
	cmd.Env = append(os.Environ(), "BATON_CURSOR_API_KEY="+simulator.DefaultAPIKey)
	if v.scim {
		cmd.Env = append(cmd.Env, "BATON_CURSOR_SCIM_URL="+url+"/scim/v2", "BATON_CURSOR_SCIM_TOKEN="+simulator.DefaultSCIMToken)
	}
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v; see %s:\n%s", err, logPath, tail(logPath, 10))
	}
	wall := time.Since(start)
	after, err := simulator.RequestCounts(url)
	if err != nil {
		return 0, 0, err
	}
	const key = "GET /scim/v2/Users"
	return wall, after[key] - before[key], nil
}

// startSCIMTenant runs `cursor-simulator` with SCIM and latency
// and returns its base URL and a stop function.
func startSCIMTenant(n int) (string, func(), error) {
	cmd := exec.Command(filepath.Join(*binDir, "cursor-simulator"), "--members", strconv.Itoa(n), "--seed", strconv.Itoa(*seed),
		"--scim", "--latency", scimLatency.String(), "--scim-max-results", strconv.Itoa(*scimMaxResults))
	cmd.Env = append(os.Environ(), simulator.APIKeyEnv+"="+simulator.DefaultAPIKey, simulator.SCIMTokenEnv+"="+simulator.DefaultSCIMToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("the simulated tenant did not start: %s", strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(line), stop, nil
}

func joinSecs(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%.3f", d.Seconds())
	}
	return strings.Join(s, ", ")
}
