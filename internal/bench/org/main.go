//go:build linux

// Command org measures a one-shot organization sync at Cursor's documented
// limits: the real binaries against a simulated Cursor that answers 429 past
// 20 organization requests a minute per key (real 60 s windows) and 20 Admin
// API requests a minute, for each organization size of -sizes. It records
// the wall time, the requests per route, the 429s and the plugin's "come back
// at" hand-backs, and writes one section per size to -out (replacing that
// size's earlier section only). /organizations/members pages at 200, so N
// people need ceil(N/200) member requests: at 20 a minute, 100,000 people
// are 500 requests and about 25 minutes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conductorone/baton-cursor/internal/bench/mdsection"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const (
	apiKey  = "crsr_bench-org-team-key"
	orgKey  = "crsr_org_bench-org-organization-key"
	rate    = 20  // Cursor's documented limit, both kinds of key
	members = 100 // the team key's own roster
)

func main() {
	bin := flag.String("bin", "bin", "directory holding baton-cursor and baton-cursor-plugin")
	sizes := flag.String("sizes", "1000,20000", "comma-separated organization sizes (people), at most 100000 each")
	label := flag.String("label", "", "what the binaries are (e.g. a commit); printed with the figures")
	out := flag.String("out", "", "markdown file to write the sections to (empty: print only)")
	flag.Parse()
	if abs, err := filepath.Abs(*bin); err == nil { // one-shot runs start in a temp folder
		*bin = abs
	}
	ok := true
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > simulator.MaxOrgPeople {
			fail(fmt.Errorf("-sizes: %q is not a size from 1 to %d", s, simulator.MaxOrgPeople))
		}
		began, loadBefore := time.Now(), mdsection.LoadAvg()
		r, err := measure(*bin, n)
		if err != nil {
			fail(err)
		}
		section := report(r, *label, mdsection.Stamp(began, loadBefore))
		fmt.Print(section)
		if *out != "" {
			if err := mdsection.Write(*out, title(n), section); err != nil {
				fail(err)
			}
		}
		ok = ok && r.exit == 0 && r.people == n
	}
	if !ok {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench org:", err)
	os.Exit(1)
}

func title(n int) string {
	return fmt.Sprintf("## Organization sync at Cursor's limits: %d people", n)
}

type result struct {
	people, size, exit int
	wall               time.Duration
	routes             map[string]int
	orgLimited         int
	handBacks          int
	membersLine        string // the plugin's "organization members read" line
}

func measure(bin string, n int) (result, error) {
	cfg := simulator.Config{Members: members, Seed: 1, APIKey: apiKey, RateLimitPerMinute: rate,
		Org: simulator.OrgConfig{APIKey: orgKey, People: n, RateLimit: rate, RateWindow: time.Minute}}
	tenant, err := simulator.New(cfg)
	if err != nil {
		return result{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	dir, err := os.MkdirTemp("", "bench-org-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	c1z := filepath.Join(dir, "sync.c1z")
	cmd := exec.Command(filepath.Join(bin, "baton-cursor"), "-f", c1z)
	cmd.Dir = dir
	cmd.Env = []string{"BATON_CURSOR_API_KEY=" + apiKey, "BATON_CURSOR_ORG_API_KEY=" + orgKey, "BATON_CURSOR_BASE_URL=" + base, "BATON_LOG_LEVEL=info"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BATON_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	runErr := cmd.Run()
	r := result{size: n, wall: time.Since(start), routes: map[string]int{}, orgLimited: tenant.OrgRateLimited()}
	if runErr != nil {
		r.exit = -1
		if ee, ok := runErr.(*exec.ExitError); ok {
			r.exit = ee.ExitCode()
		}
		_ = os.WriteFile(fmt.Sprintf("bench-org-%d.log", n), logs.Bytes(), 0o600)
		fmt.Fprintf(os.Stderr, "bench org: the %d-person sync exited %d; its log is in bench-org-%d.log\n", n, r.exit, n)
	}
	counts, err := simulator.RequestCounts(base)
	if err != nil {
		return r, err
	}
	for k, v := range counts {
		if v > 0 {
			r.routes[k] = v
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(line, "handing back to baton-sdk"):
			r.handBacks++
		case strings.Contains(line, "organization members read"):
			r.membersLine = line
			if i := strings.Index(line, `"members":`); i >= 0 {
				r.people, _ = strconv.Atoi(strings.TrimRight(strings.SplitN(line[i+len(`"members":`):], ",", 2)[0], "}"))
			}
		}
	}
	return r, nil
}

// field is the value of "key":value in a JSON log line, or "?".
func field(line, key string) string {
	i := strings.Index(line, `"`+key+`":`)
	if i < 0 {
		return "?"
	}
	v := line[i+len(key)+3:]
	if j := strings.IndexAny(v, ",}"); j >= 0 {
		v = v[:j]
	}
	return v
}

func report(r result, label, stamp string) string {
	var b strings.Builder
	b.WriteString(title(r.size) + "\n\n" + stamp + "\n")
	fmt.Fprintf(&b, "`go run ./internal/bench/org -sizes %d` (`make bench` runs 1000 and 20000, `make bench-org` 100000): a one-shot sync with the team key (%d members) and the organization key, "+
		"against the simulator answering 429 past %d requests a minute per key on both APIs (real 60 s windows). %s\n\n", r.size, members, rate, label)
	status := "finished"
	if r.exit != 0 {
		status = fmt.Sprintf("FAILED (exit %d)", r.exit)
	}
	fmt.Fprintf(&b, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| sync | %s |\n| wall time | %s |\n| people synced (the plugin's count) | %d of %d |\n", status, r.wall.Round(100*time.Millisecond), r.people, r.size)
	fmt.Fprintf(&b, "| `/organizations/members` requests (ceil(people/200) = %d) | %d |\n", (r.size+199)/200, r.routes["/organizations/members"])
	fmt.Fprintf(&b, "| plugin's `requests_this_sync` (members read) | %s |\n", field(r.membersLine, "requests_this_sync"))
	fmt.Fprintf(&b, "| 429 answers (organization routes) | %d |\n| \"come back at\" hand-backs to baton-sdk | %d |\n\n", r.orgLimited, r.handBacks)
	b.WriteString("Requests per route:\n\n| route | requests |\n|---|---|\n")
	routes := make([]string, 0, len(r.routes))
	for k := range r.routes {
		routes = append(routes, k)
	}
	slices.Sort(routes)
	for _, k := range routes {
		fmt.Fprintf(&b, "| `%s` | %d |\n", k, r.routes[k])
	}
	b.WriteString("\n")
	return b.String()
}
