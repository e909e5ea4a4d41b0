//go:build linux

// Command provision measures provisioning at C1's pace against a simulated
// Cursor that enforces Cursor's 20 Admin API requests a minute: a burst of
// tasks in service mode (-scim deletes of SCIM-managed members, -dashboard
// removals of dashboard members with cursor-remove-unmanaged on, -creates
// creates, interleaved as C1 sends them after a review), and one-shot create
// and deletes. It counts the tenant's requests by kind and the wall time, and
// writes them as a section of -out (replacing an earlier one). The budget
// (issue 16, docs/design.md): every burst task succeeds, at most 6 Admin API
// requests besides remove-member, no enrichment request, under 90 s; a
// one-shot create or delete makes no enrichment request and at most one
// roster read, and one of a SCIM-managed person (a create, a delete of a
// SCIM user) SCIM requests only. It exits 1 over budget.
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/conductorone/baton-cursor/internal/bench/mdsection"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/conductorone/baton-cursor/internal/c1sim"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const (
	sectionTitle = "## Provisioning at C1's pace"
	apiKey       = "crsr_bench-provision-key"
	scimToken    = "scim_bench-provision-token"
	burstBudget  = 90 * time.Second
	adminBudget  = 6 // Admin API requests besides remove-member in the burst
)

// enrichmentPaths are the activity routes (plugin/service/activity.go).
var enrichmentPaths = []string{"/teams/audit-logs", "/teams/daily-usage-data", "/teams/spend"}

func main() {
	bin := flag.String("bin", "bin", "directory holding baton-cursor and baton-cursor-plugin")
	members := flag.Int("members", 200, "team size")
	nSCIM := flag.Int("scim", 30, "burst: deletes of SCIM-managed members")
	nDash := flag.Int("dashboard", 10, "burst: removals of dashboard members (cursor-remove-unmanaged on)")
	nCreate := flag.Int("creates", 10, "burst: creates")
	rate := flag.Int("rate-limit-per-minute", 20, "Admin API requests a minute the simulated Cursor allows (Cursor: 20)")
	label := flag.String("label", "", "what the binaries are (e.g. a commit); printed with the figures")
	out := flag.String("out", "", "markdown file to write the section to (empty: print only)")
	flag.Parse()
	if abs, err := filepath.Abs(*bin); err == nil { // one-shot runs start in a temp folder
		*bin = abs
	}

	began, loadBefore := time.Now(), mdsection.LoadAvg()
	cfg := simulator.Config{Members: *members, Seed: 1, APIKey: apiKey, SCIMToken: scimToken, RateLimitPerMinute: *rate}
	var rows []row
	burst, err := measureBurst(*bin, cfg, *nSCIM, *nDash, *nCreate)
	if err != nil {
		fail(err)
	}
	rows = append(rows, burst)
	for _, one := range oneShots(cfg) {
		r, err := measureOneShot(*bin, cfg, one)
		if err != nil {
			fail(err)
		}
		rows = append(rows, r)
	}
	section, ok := report(rows, *label, *rate, *members, mdsection.Stamp(began, loadBefore))
	fmt.Print(section)
	if *out != "" {
		if err := mdsection.Write(*out, sectionTitle, section); err != nil {
			fail(err)
		}
	}
	if !ok {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "provision:", err)
	os.Exit(1)
}

// row is one measured scenario.
type row struct {
	what      string
	wall      time.Duration
	counts    map[string]int
	failed    []string // what did not succeed
	oneShot   bool
	scimOnly  bool // a SCIM-managed person: no Admin API request at all
	tasks     int
	succeeded int
}

func (r row) admin() (besidesRemove, roster, enrichment, remove int) {
	for k, n := range r.counts {
		switch {
		case strings.Contains(k, "/scim/v2"):
		case k == "/teams/remove-member":
			remove += n
		default:
			besidesRemove += n
		}
	}
	for _, p := range enrichmentPaths {
		enrichment += r.counts[p]
	}
	return besidesRemove, r.counts["/teams/members"], enrichment, remove
}

func (r row) scim() int {
	n := 0
	for k, v := range r.counts {
		if strings.Contains(k, "/scim/v2") {
			n += v
		}
	}
	return n
}

// serveTenant serves a fresh tenant on loopback.
func serveTenant(cfg simulator.Config) (*simulator.Tenant, string, func(), error) {
	tenant, err := simulator.New(cfg)
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return tenant, "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func cursorEnv(base string, extra ...string) []string {
	env := []string{"BATON_CURSOR_API_KEY=" + apiKey, "BATON_CURSOR_BASE_URL=" + base,
		"BATON_CURSOR_SCIM_URL=" + base + "/scim/v2", "BATON_CURSOR_SCIM_TOKEN=" + scimToken}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BATON_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// victims picks active SCIM-managed members and active dashboard members
// holding the member role (so Cursor's last-admin rule never refuses).
func victims(tenant *simulator.Tenant, nSCIM, nDash int) (scim, dash []string, err error) {
	managed := map[string]bool{}
	for _, u := range tenant.SCIMUsers() {
		managed[strings.ToLower(u.UserName)] = true
	}
	for _, m := range tenant.Members() {
		email := strings.ToLower(m.Email)
		switch {
		case m.IsRemoved:
		case managed[email] && len(scim) < nSCIM:
			scim = append(scim, email)
		case !managed[email] && m.Role == "member" && len(dash) < nDash:
			dash = append(dash, email)
		}
	}
	if len(scim) < nSCIM || len(dash) < nDash {
		return nil, nil, fmt.Errorf("the team has %d SCIM-managed and %d dashboard members to remove; need %d and %d (raise -members)", len(scim), len(dash), nSCIM, nDash)
	}
	return scim, dash, nil
}

// measureBurst starts baton-cursor in service mode against c1sim and times
// the burst from the first task queued to the last task finished.
func measureBurst(bin string, cfg simulator.Config, nSCIM, nDash, nCreate int) (row, error) {
	tenant, base, stop, err := serveTenant(cfg)
	if err != nil {
		return row{}, err
	}
	defer stop()
	scimIDs, dashIDs, err := victims(tenant, nSCIM, nDash)
	if err != nil {
		return row{}, err
	}
	tmp, err := os.MkdirTemp("", "bench-provision-")
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(tmp)
	c1, err := c1sim.Start(tmp)
	if err != nil {
		return row{}, err
	}
	defer c1.Close()

	logPath := filepath.Join(tmp, "service.log")
	logs, err := os.Create(logPath)
	if err != nil {
		return row{}, err
	}
	defer logs.Close()
	cmd := exec.Command(filepath.Join(bin, "baton-cursor"))
	cmd.Env = append(cursorEnv(base, "BATON_PROVISIONING=true", "BATON_CURSOR_REMOVE_UNMANAGED=true", "BATON_HOST_ID=bench-provision"), c1.Env()...)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return row{}, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := c1.WaitHello(ctx); err != nil {
		return row{}, fmt.Errorf("the service never said hello: %w", err)
	}
	before, err := simulator.RequestCounts(base)
	if err != nil {
		return row{}, err
	}

	// Interleaved as a review's decisions arrive: SCIM deletes, dashboard
	// removals and creates mixed.
	type task struct{ id, what string }
	var tasks []task
	start := time.Now()
	for i := 0; len(scimIDs)+len(dashIDs) > 0 || i < nCreate; i++ {
		for j := 0; j < 3 && len(scimIDs) > 0; j++ {
			tasks = append(tasks, task{c1.EnqueueDelete("user", scimIDs[0]), "delete SCIM member " + scimIDs[0]})
			scimIDs = scimIDs[1:]
		}
		if len(dashIDs) > 0 {
			tasks = append(tasks, task{c1.EnqueueDelete("user", dashIDs[0]), "remove dashboard member " + dashIDs[0]})
			dashIDs = dashIDs[1:]
		}
		if i < nCreate {
			email := fmt.Sprintf("bench.hire%02d@example.com", i)
			profile, _ := structpb.NewStruct(map[string]any{"email": email, "given_name": "Bench", "family_name": "Hire"})
			tasks = append(tasks, task{c1.EnqueueCreateAccount(v2.AccountInfo_builder{Login: email, Profile: profile}.Build()), "create " + email})
		}
	}
	r := row{what: fmt.Sprintf("service mode: burst of %d tasks (%d SCIM deletes, %d dashboard removals, %d creates)", len(tasks), nSCIM, nDash, nCreate), tasks: len(tasks)}
	for _, tk := range tasks {
		o, err := c1.WaitOutcome(ctx, tk.id)
		switch {
		case err != nil:
			return row{}, fmt.Errorf("%s: %w (service log %s)", tk.what, err, logPath)
		case o.Success:
			r.succeeded++
		default:
			r.failed = append(r.failed, fmt.Sprintf("%s: %v %s", tk.what, o.Code, o.Message))
		}
	}
	r.wall = time.Since(start)
	after, err := simulator.RequestCounts(base)
	if err != nil {
		return row{}, err
	}
	r.counts = diff(after, before)
	return r, nil
}

type oneShot struct {
	what     string
	args     func(tenant *simulator.Tenant) ([]string, error)
	env      []string
	scimOnly bool
}

func oneShots(cfg simulator.Config) []oneShot {
	first := func(tenant *simulator.Tenant, scim bool) (string, error) {
		s, d, err := victims(tenant, 1, 1)
		if err != nil {
			return "", err
		}
		if scim {
			return s[0], nil
		}
		return d[0], nil
	}
	del := func(id string) []string { return []string{"--delete-resource", id, "--delete-resource-type", "user"} }
	return []oneShot{
		{what: "one-shot create", scimOnly: true, args: func(*simulator.Tenant) ([]string, error) {
			return []string{"--create-account-email", "bench.one@example.com", "--create-account-login", "bench.one@example.com"}, nil
		}},
		{what: "one-shot delete of a SCIM-managed member", scimOnly: true, args: func(t *simulator.Tenant) ([]string, error) {
			id, err := first(t, true)
			return del(id), err
		}},
		{what: "one-shot delete of an absent person (no-op)", args: func(*simulator.Tenant) ([]string, error) {
			return del("nobody.here@example.com"), nil
		}},
		{what: "one-shot removal of a dashboard member (cursor-remove-unmanaged)", env: []string{"BATON_CURSOR_REMOVE_UNMANAGED=true"},
			args: func(t *simulator.Tenant) ([]string, error) {
				id, err := first(t, false)
				return del(id), err
			}},
	}
}

func measureOneShot(bin string, cfg simulator.Config, one oneShot) (row, error) {
	tenant, base, stop, err := serveTenant(cfg)
	if err != nil {
		return row{}, err
	}
	defer stop()
	args, err := one.args(tenant)
	if err != nil {
		return row{}, err
	}
	dir, err := os.MkdirTemp("", "bench-provision-oneshot-")
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(filepath.Join(bin, "baton-cursor"), args...)
	cmd.Dir = dir
	cmd.Env = cursorEnv(base, one.env...)
	start := time.Now()
	output, runErr := cmd.CombinedOutput()
	r := row{what: one.what, wall: time.Since(start), oneShot: true, scimOnly: one.scimOnly, tasks: 1}
	if runErr != nil {
		r.failed = append(r.failed, fmt.Sprintf("%v: %s", runErr, lastLine(string(output))))
	} else {
		r.succeeded = 1
	}
	if r.counts, err = simulator.RequestCounts(base); err != nil {
		return row{}, err
	}
	return r, nil
}

func diff(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// report renders the section and says whether every budget holds.
func report(rows []row, label string, rate, members int, stamp string) (string, bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n", sectionTitle, stamp)
	fmt.Fprintf(&b, "`go run ./internal/bench/provision` (part of `make bench`): a simulated team of %d members with SCIM, "+
		"answering 429 past %d Admin API requests a minute (every route together, as Cursor's per-team limit); the "+
		"service-mode burst runs through the simulated C1 (`internal/c1sim`, baton-sdk's default task concurrency), timed "+
		"from the first task queued to the last one finished; each one-shot run is a fresh tenant. Requests are the "+
		"tenant's counts; \"admin\" is every Admin API request besides `remove-member`, \"enrichment\" the activity routes "+
		"(audit logs, daily usage, spend).", members, rate)
	if label != "" {
		fmt.Fprintf(&b, " Binaries: %s.", label)
	}
	b.WriteString("\n\n| scenario | succeeded | wall | admin | of which `/teams/members` | enrichment | `remove-member` | SCIM | requests by kind |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	ok := true
	var problems []string
	for _, r := range rows {
		admin, roster, enrich, remove := r.admin()
		fmt.Fprintf(&b, "| %s | %d/%d | %.1f s | %d | %d | %d | %d | %d | %s |\n", r.what, r.succeeded, r.tasks,
			r.wall.Seconds(), admin, roster, enrich, remove, r.scim(), kinds(r.counts))
		switch {
		case len(r.failed) > 0:
			problems = append(problems, fmt.Sprintf("%s: %d failed (first: %s)", r.what, len(r.failed), r.failed[0]))
		case enrich > 0:
			problems = append(problems, fmt.Sprintf("%s: %d enrichment requests, budget 0", r.what, enrich))
		case r.scimOnly && admin+remove > 0:
			problems = append(problems, fmt.Sprintf("%s: %d Admin API requests, budget 0 (SCIM only)", r.what, admin+remove))
		case r.oneShot && roster > 1:
			problems = append(problems, fmt.Sprintf("%s: %d roster reads, budget 1", r.what, roster))
		case !r.oneShot && admin > adminBudget:
			problems = append(problems, fmt.Sprintf("%s: %d Admin API requests besides remove-member, budget %d", r.what, admin, adminBudget))
		case !r.oneShot && r.wall > burstBudget:
			problems = append(problems, fmt.Sprintf("%s: %v, budget %v", r.what, r.wall.Round(time.Second), burstBudget))
		}
	}
	if len(problems) > 0 {
		ok = false
		fmt.Fprintf(&b, "\nOVER budget: %s.\n", strings.Join(problems, "; "))
	} else {
		fmt.Fprintf(&b, "\nWithin budget: every task succeeded; the burst made at most %d Admin API requests besides remove-member, "+
			"none for enrichment, in under %v; each one-shot run made no enrichment request and at most one roster read, "+
			"and a create or a delete of a SCIM-managed member SCIM requests only.\n", adminBudget, burstBudget)
	}
	return b.String(), ok
}

// kinds lists the counts, largest first.
func kinds(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
