//go:build linux

// Command run is the side-by-side benchmark `make bench` runs: for each team
// size it starts the simulated Cursor tenant, runs full one-shot syncs
// through baton-cursor (host + plugin) and through the floor (the same baton
// work from memory, internal/bench/floor), and reports wall time, peak RSS
// per process, /teams/members requests per sync and plugin start time
// against the budgets of docs/design.md. It writes its sections of BENCHMARKS.md and prints the
// same text.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conductorone/baton-cursor/internal/bench/mdsection"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

var (
	binDir    = flag.String("bin", "bin", "folder holding baton-cursor, baton-cursor-plugin, cursor-simulator and baton-cursor-floor")
	sizesFlag = flag.String("sizes", "1000,10000,100000", "comma-separated team sizes")
	runs      = flag.Int("runs", 3, "measured syncs per size, of ours and of the floor each")
	warmup    = flag.Int("warmup", 1, "unmeasured syncs of each before the measured ones, per size")
	starts    = flag.Int("starts", 20, "plugin starts to time")
	pollEvery = flag.Duration("poll", 20*time.Millisecond, "how often /proc is polled for peak RSS")
	verifyMax = flag.Int("verify-max", 10000, "compare ours' and the floor's c1z contents at sizes up to this")
	outFile   = flag.String("out", "BENCHMARKS.md", "report file to write (empty: print only)")
	workDir   = flag.String("work", "", "folder for c1z files and logs (default: a temporary one, removed)")
	seed      = flag.Int("seed", 1, "simulator seed, for the tenant and the floor")
	actDays   = flag.Int("activity-days", 0, "ours' --cursor-activity-days: 0 compares the roster path with the floor; 30 (the default setting) times a default sync against it (issue 18.2)")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

type sizeResult struct {
	members     int
	ours, floor []runResult
	verified    string  // what the c1z comparison found; "" when not compared
	otherCores  float64 // CPU used by processes other than the benchmark's, in cores
	load        [2]string
}

func run() error {
	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > simulator.MaxMembers {
			return fmt.Errorf("bad size %q in -sizes", s)
		}
		sizes = append(sizes, n)
	}
	if *runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	bins := []string{"baton-cursor", "baton-cursor-plugin", "cursor-simulator"}
	if !*scimOnly {
		bins = append(bins, "baton-cursor-floor")
	}
	for _, b := range bins {
		if _, err := os.Stat(filepath.Join(*binDir, b)); err != nil {
			return fmt.Errorf("%v (run `make build simulator` and `go build -o %s/ ./internal/bench/floor`, or `make bench`)", err, *binDir)
		}
	}
	dir := *workDir
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	} else {
		d, err := os.MkdirTemp("", "baton-cursor-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if *scimOnly {
		text, err := benchSCIM(dir)
		fmt.Print(text)
		if err == nil && *outFile != "" {
			err = writeSection(scimTitle, text)
		}
		return err
	}
	began, loadBefore := time.Now(), mdsection.LoadAvg()
	startTimes, err := pluginStart(filepath.Join(*binDir, "baton-cursor-plugin"), *starts)
	if err != nil {
		return err
	}
	var results []sizeResult
	for _, n := range sizes {
		fmt.Fprintf(os.Stderr, "bench: %d members ...\n", n)
		r, err := benchSize(n, dir)
		if err != nil {
			return fmt.Errorf("%d members: %w", n, err)
		}
		results = append(results, r)
	}
	text := report(began, loadBefore, startTimes, results)
	fmt.Print(text)
	if *outFile != "" {
		if err := writeSection(sectionTitle(), text); err != nil {
			return err
		}
	}
	if *scimSize > 0 {
		fmt.Fprintf(os.Stderr, "bench: SCIM at %d members ...\n", *scimSize)
		scimText, err := benchSCIM(dir)
		if err != nil {
			return fmt.Errorf("SCIM: %w", err)
		}
		fmt.Print(scimText)
		if *outFile != "" {
			return writeSection(scimTitle, scimText)
		}
	}
	return nil
}

// sectionTitle heads this run's section: one per activity setting, so the
// roster path and a default sync each keep theirs.
func sectionTitle() string {
	return fmt.Sprintf("## Sync against the floor, cursor-activity-days %d (internal/bench/run)", *actDays)
}

// writeSection puts text into -out as its section.
func writeSection(title, text string) error {
	return mdsection.Write(*outFile, title, strings.TrimLeft(text, "\n"))
}

func benchSize(n int, dir string) (sizeResult, error) {
	res := sizeResult{members: n}
	res.load[0] = mdsection.LoadAvg()
	cpu0, self0 := busyCPU(), selfCPU()
	benchCPU := 0.0 // CPU seconds of the syncs' processes and the tenant

	url, tenantCPU, stopTenant, err := startTenant(n)
	if err != nil {
		return res, err
	}
	defer stopTenant()
	oursOut, floorOut := filepath.Join(dir, "ours.c1z"), filepath.Join(dir, "floor.c1z")
	// Activity off by default: this compares the roster path with the
	// floor; the cost of activity is measured by internal/bench/activity.
	oursArgs := []string{"--cursor-base-url", url, "--cursor-activity-days", strconv.Itoa(*actDays), "-f", oursOut}
	oursEnv := append(os.Environ(), "BATON_CURSOR_API_KEY="+simulator.DefaultAPIKey)
	floorArgs := []string{"--members", strconv.Itoa(n), "--seed", strconv.Itoa(*seed), "-f", floorOut}
	// Interleaved, so that whatever else the machine does hits both alike.
	for i := range *warmup + *runs {
		o, err := runSync(filepath.Join(*binDir, "baton-cursor"), oursArgs, oursEnv, roleParent, oursOut, url, filepath.Join(dir, "ours.log"))
		if err != nil {
			return res, fmt.Errorf("baton-cursor: %w", err)
		}
		f, err := runSync(filepath.Join(*binDir, "baton-cursor-floor"), floorArgs, os.Environ(), roleParent, floorOut, "", filepath.Join(dir, "floor.log"))
		if err != nil {
			return res, fmt.Errorf("floor: %w", err)
		}
		benchCPU += o.cpuSecs() + f.cpuSecs()
		if i >= *warmup {
			res.ours, res.floor = append(res.ours, o), append(res.floor, f)
		}
	}
	if n <= *verifyMax {
		res.verified = compareC1Z(oursOut, floorOut)
	}
	benchCPU += tenantCPU()
	stopTenant()
	elapsed := time.Since(cpu0.at).Seconds()
	res.otherCores = ((busyCPU().secs - cpu0.secs) - (selfCPU() - self0) - benchCPU) / elapsed
	res.load[1] = mdsection.LoadAvg()
	return res, nil
}

type runResult struct {
	wall      time.Duration
	procs     []proc
	treeKB    int64         // the tree's peak: the largest sum of its processes' VmRSS in one poll
	treeMaxKB int64         // wait4's ru_maxrss of the root: the largest of the tree's reaped processes
	requests  int           // GET /teams/members during the run; -1 without a tenant
	gen       time.Duration // the floor's roster generation (not baton work), from its log
}

// floorGen finds the floor's "roster generated" line (internal/bench/floor).
var floorGen = regexp.MustCompile(`floor: roster of \d+ members generated in (\d+) us`)

// net is the wall time without the floor's roster generation.
func (r runResult) net() time.Duration { return r.wall - r.gen }

// cpuSecs is the CPU time of the run's processes, as last polled.
func (r runResult) cpuSecs() float64 {
	var ticks int64
	for _, p := range r.procs {
		ticks += p.cpuTicks
	}
	return float64(ticks) / 100
}

func runSync(bin string, args, env []string, rootRole, out, url, logPath string) (runResult, error) {
	res := runResult{requests: -1}
	_ = os.Remove(out)
	log, err := os.Create(logPath)
	if err != nil {
		return res, err
	}
	defer log.Close()
	before := 0
	if url != "" {
		if before, err = membersRequests(url); err != nil {
			return res, err
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	w := watchTree(cmd.Process.Pid, rootRole, *pollEvery)
	err = cmd.Wait()
	res.wall = time.Since(start)
	res.procs, res.treeKB = w.Stop()
	if err != nil {
		return res, fmt.Errorf("%v; see %s:\n%s", err, logPath, tail(logPath, 10))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.treeMaxKB = ru.Maxrss
	}
	if m := floorGen.FindSubmatch(readFile(logPath)); m != nil {
		us, _ := strconv.ParseInt(string(m[1]), 10, 64)
		res.gen = time.Duration(us) * time.Microsecond
	}
	if url != "" {
		after, err := membersRequests(url)
		if err != nil {
			return res, err
		}
		res.requests = after - before
	}
	return res, nil
}

// startTenant runs cursor-simulator and returns its base URL,
// a function reporting its CPU seconds so far, and a stop function that may
// be called more than once.
func startTenant(n int) (string, func() float64, func(), error) {
	cmd := exec.Command(filepath.Join(*binDir, "cursor-simulator"), "--members", strconv.Itoa(n), "--seed", strconv.Itoa(*seed))
	cmd.Env = append(os.Environ(), simulator.APIKeyEnv+"="+simulator.DefaultAPIKey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}
	cpu := func() float64 {
		st, _ := readStat(cmd.Process.Pid)
		return float64(st.cpuTicks) / 100
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, nil, fmt.Errorf("the simulated tenant did not start: %s", strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(line), cpu, stop, nil
}

func readFile(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

func tail(path string, lines int) string {
	b := readFile(path)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

type cpuSample struct {
	at   time.Time
	secs float64 // non-idle CPU time of the whole machine
}

// busyCPU reads the machine's non-idle CPU time from /proc/stat.
func busyCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i := 1; i < len(f) && i <= 8; i++ {
		if i == 4 || i == 5 { // idle, iowait
			continue
		}
		v, _ := strconv.ParseFloat(f[i], 64)
		s.secs += v / 100 // USER_HZ
	}
	return s
}

// selfCPU is this process's CPU time.
func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return sec(ru.Utime) + sec(ru.Stime)
}

func median[T int64 | float64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// membersRequests is how many GET /teams/members the tenant has served.
func membersRequests(baseURL string) (int, error) {
	counts, err := simulator.RequestCounts(baseURL)
	return counts["/teams/members"], err
}
