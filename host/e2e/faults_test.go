//go:build linux

package e2e

// The fault matrix of docs/reliability.md, the rows no other end-to-end test
// covers: each test runs the real baton-cursor and baton-cursor-plugin
// binaries against a simulated tenant (or a hand-written server) over HTTP on
// loopback, and checks what the person running the sync sees: the exit code,
// the last output line, how many requests reached Cursor, and that a failed
// sync leaves no c1z claiming to be complete.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// Exit codes of baton-sdk (the gRPC code of the failure).
const (
	exitInvalidArgument    = 3
	exitAlreadyExists      = 6
	exitPermissionDenied   = 7
	exitFailedPrecondition = 9
	exitAborted            = 10
	exitInternal           = 13
	exitUnauthenticated    = 16
)

// --- helpers ---

// fxArrivals records when each GET /teams/members reached the tenant.
type fxArrivals struct {
	mu sync.Mutex
	at []time.Time
}

func (a *fxArrivals) times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.at...)
}

// fxTimedTenant is newTenant with the arrival time of every members request
// recorded.
func fxTimedTenant(t *testing.T, cfg simulator.Config) (*simulator.Tenant, *httptest.Server, *fxArrivals) {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey()
	}
	tenant, err := simulator.New(cfg)
	if err != nil {
		t.Fatalf("simulator.New: %v", err)
	}
	arr := &fxArrivals{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == membersPath {
			arr.mu.Lock()
			arr.at = append(arr.at, time.Now())
			arr.mu.Unlock()
		}
		tenant.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return tenant, srv, arr
}

// fxGaps are the waits between consecutive arrivals.
func fxGaps(at []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(at); i++ {
		out = append(out, at[i].Sub(at[i-1]))
	}
	return out
}

// fxSync runs a one-shot sync into a fresh c1z path with the test key and
// returns the run and the path. It does not judge the exit code.
func fxSync(t *testing.T, base string, limit time.Duration, extra ...string) (*hostRun, string) {
	t.Helper()
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := runHost(t, runOpts{Args: syncArgs(base, c1z, extra...), Key: strPtr(testKey())}, limit)
	return r, c1z
}

// fxRequireExit checks the exact exit code.
func fxRequireExit(t *testing.T, r *hostRun, want int) {
	t.Helper()
	if got := r.exitCode(); got != want {
		t.Errorf("exit code %d, want %d; output:\n%s", got, want, tail(r.out.String(), 20))
	}
}

// fxRead reads a c1z that must hold a finished sync.
func fxRead(t *testing.T, c1z string) *c1zread.Contents {
	t.Helper()
	c, err := c1zread.Read(context.Background(), c1z)
	if err != nil {
		t.Fatalf("read %s: %v", c1z, err)
	}
	return c
}

// fxRetry is one "Cursor request failed; retrying" log line of the plugin.
type fxRetry struct {
	Attempt int    `json:"attempt"`
	Wait    string `json:"wait"`
	Reason  string `json:"reason"`
}

// fxRetries lists the plugin's retry lines in the output, in order.
func fxRetries(out string) []fxRetry {
	var rs []fxRetry
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "Cursor request failed; retrying") {
			continue
		}
		var r fxRetry
		if json.Unmarshal([]byte(line), &r) == nil {
			rs = append(rs, r)
		}
	}
	return rs
}

// fxRequireNoLine fails when some output line names all of parts.
func fxRequireNoLine(t *testing.T, what string, r *hostRun, parts ...string) {
	t.Helper()
	if line, ok := anyLine(r.out.String(), parts...); ok {
		t.Errorf("%s: an output line names %q, which must not happen:\n%s", what, parts, line)
	}
}

// fxRequireNoRequests checks that nothing at all reached the tenant at base.
func fxRequireNoRequests(t *testing.T, base string) {
	t.Helper()
	if counts := allRequests(t, base); len(counts) != 0 {
		t.Errorf("requests reached the tenant, want none: %v", counts)
	}
}

// --- Cursor side ---

// 429 without Retry-After: the plugin waits the schedule's first step (1 s)
// and the second request gets the roster.
func TestCursorRateLimitWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	tenant, srv, arr := fxTimedTenant(t, simulator.Config{Members: 50, Seed: 51,
		Faults: simulator.Faults{RateLimited: 1}})
	r, c1z := fxSync(t, srv.URL, 60*time.Second)
	fxRequireExit(t, r, 0)
	if n := tenant.Requests(membersPath); n != 2 {
		t.Errorf("%s requests: %d, want exactly 2 (one 429, then the roster)", membersPath, n)
	}
	if gaps := fxGaps(arr.times()); len(gaps) != 1 || gaps[0] < time.Second || gaps[0] > 3*time.Second {
		t.Errorf("wait between the 429 and the retry: %v, want the schedule's first step of 1 s", gaps)
	}
	if rs := fxRetries(r.out.String()); len(rs) != 1 || rs[0].Wait != "1s" || rs[0].Reason != "HTTP 429" {
		t.Errorf("retry lines %+v, want one saying HTTP 429, wait 1s", rs)
	}
	if got := len(fxRead(t, c1z).OfType("user")); got != 50 {
		t.Errorf("users: %d, want 50", got)
	}
}

// 429 on every request: the plugin's six attempts (Retry-After 1 s each),
// then baton-sdk waits out Cursor's rate limit twice more (each time six more
// attempts), then exit 10 with a line saying Cursor kept rate-limiting.
func TestCursorKeepsRateLimiting(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 52,
		Faults: simulator.Faults{RateLimited: 1000, RetryAfter: "1"}})
	r, c1z := fxSync(t, srv.URL, 90*time.Second)
	fxRequireExit(t, r, exitAborted)
	requireLastLine(t, "sync while Cursor rate-limits every request", r,
		"Cursor kept rate-limiting /teams/members (HTTP 429) after 6 attempts", "try again in a minute",
		"waited for Cursor's rate limit to reset 2 times")
	if n := tenant.Requests(membersPath); n != 18 {
		t.Errorf("%s requests: %d, want exactly 18 (three rounds of one try and five retries)", membersPath, n)
	}
	if rs := fxRetries(r.out.String()); len(rs) != 15 {
		t.Errorf("retry lines: %d (%+v), want 15", len(rs), rs)
	}
	requireNoFinishedSync(t, c1z)
}

// Cursor still rate-limits after the plugin's six attempts, then recovers:
// the host hands Cursor's reset time (Retry-After 3) to baton-sdk, which waits
// that long, not its own 1 s, calls again and the sync succeeds.
func TestCursorRateLimitHintReachesBatonSDK(t *testing.T) {
	t.Parallel()
	tenant, srv, arr := fxTimedTenant(t, simulator.Config{Members: 50, Seed: 54,
		Faults: simulator.Faults{RateLimited: 6, RetryAfter: "3"}})
	r, c1z := fxSync(t, srv.URL, 90*time.Second)
	fxRequireExit(t, r, 0)
	if n := tenant.Requests(membersPath); n != 7 {
		t.Errorf("%s requests: %d, want exactly 7 (six 429s, then the roster)", membersPath, n)
	}
	if gaps := fxGaps(arr.times()); len(gaps) != 6 || gaps[5] < 3*time.Second {
		t.Errorf("waits between requests %v; want six, the last (baton-sdk's) at least Cursor's 3 s", gaps)
	}
	if got := len(fxRead(t, c1z).OfType("user")); got != 50 {
		t.Errorf("users: %d, want 50", got)
	}
}

// 503 bursts that recover: the sync succeeds with every member, after exactly
// one request per 503 plus the good one.
func TestCursorServerErrorBurstRecovers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		faults     simulator.Faults
		requests   int
		firstWait  time.Duration
		retryWaits []string
	}{
		{"one 503 without Retry-After", simulator.Faults{ServerErrors: 1}, 2, time.Second, []string{"1s"}},
		{"three 503s with Retry-After 1", simulator.Faults{ServerErrors: 3, ServerRetryAfter: "1"}, 4, time.Second, []string{"1s", "1s", "1s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tenant, srv, arr := fxTimedTenant(t, simulator.Config{Members: 50, Seed: 53, Faults: tc.faults})
			r, c1z := fxSync(t, srv.URL, 60*time.Second)
			fxRequireExit(t, r, 0)
			if n := tenant.Requests(membersPath); n != tc.requests {
				t.Errorf("%s requests: %d, want exactly %d", membersPath, n, tc.requests)
			}
			for i, g := range fxGaps(arr.times()) {
				if g < tc.firstWait {
					t.Errorf("wait %d between requests: %v, want at least %v", i+1, g, tc.firstWait)
				}
			}
			var waits []string
			for _, rt := range fxRetries(r.out.String()) {
				waits = append(waits, rt.Wait)
				if !strings.HasPrefix(rt.Reason, "HTTP 503") {
					t.Errorf("retry reason %q, want HTTP 503", rt.Reason)
				}
			}
			if strings.Join(waits, ",") != strings.Join(tc.retryWaits, ",") {
				t.Errorf("retry waits %v, want %v", waits, tc.retryWaits)
			}
			checkSyncMatchesTenant(t, tenant.Members(), fxRead(t, c1z))
		})
	}
}

// The one test that waits out Cursor's whole documented schedule: a server
// whose answers are always cut off mid-body (a network failure, so there is
// no Retry-After to shorten it). The real binaries must wait 1, 2, 4, 8 and
// 16 s between six attempts, then stop: exit 10 within the bound, a last line
// naming the host and the cause, and no complete c1z.
func TestCursorNeverAnswersCompletelyFollowsTheSchedule(t *testing.T) {
	tenant, srv, arr := fxTimedTenant(t, simulator.Config{Members: 50, Seed: 54,
		Faults: simulator.Faults{Truncate: true}})
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	// Started before t.Parallel, so that its 31 s of waiting overlap with the
	// serial tests; the host is mostly asleep.
	r := startHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(testKey())})
	t.Parallel()
	r.wait(t, 90*time.Second)

	fxRequireExit(t, r, exitAborted)
	host := strings.TrimPrefix(srv.URL, "http://")
	requireLastLine(t, "sync against a server that always cuts the body", r,
		"no answer from "+host+" after 6 attempts over 31s", "unexpected EOF")
	if n := tenant.Requests(membersPath); n != 6 {
		t.Errorf("%s requests: %d, want exactly 6", membersPath, n)
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	gaps := fxGaps(arr.times())
	if len(gaps) != len(want) {
		t.Errorf("waits between requests %v, want %v", gaps, want)
	}
	for i := range min(len(gaps), len(want)) {
		if gaps[i] < want[i] || gaps[i] > want[i]+1500*time.Millisecond {
			t.Errorf("wait %d: %v, want %v (plus at most 1.5 s of work)", i+1, gaps[i], want[i])
		}
	}
	var waits []string
	for _, rt := range fxRetries(r.out.String()) {
		waits = append(waits, rt.Wait)
	}
	if got := strings.Join(waits, ","); got != "1s,2s,4s,8s,16s" {
		t.Errorf("retry lines' waits %q, want 1s,2s,4s,8s,16s", got)
	}
	if r.duration > 31*time.Second+20*time.Second {
		t.Errorf("the host took %v to give up, want about 31 s", r.duration)
	}
	requireNoFinishedSync(t, c1z)
}

// A truncated or non-JSON roster once, then good answers. A cut-off body is a
// network failure and is retried at once; a 200 that is not JSON is an answer
// and is not retried: that sync fails with a line that does not quote the
// body, and running it again works.
func TestCursorMalformedRosterOnce(t *testing.T) {
	t.Parallel()
	t.Run("truncated once", func(t *testing.T) {
		t.Parallel()
		tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 55,
			Faults: simulator.Faults{Truncate: true, MalformedRequests: 1}})
		r, c1z := fxSync(t, srv.URL, 60*time.Second)
		fxRequireExit(t, r, 0)
		if n := tenant.Requests(membersPath); n != 2 {
			t.Errorf("%s requests: %d, want exactly 2 (the cut-off answer, then the roster)", membersPath, n)
		}
		if rs := fxRetries(r.out.String()); len(rs) != 1 || !strings.Contains(rs[0].Reason, "unexpected EOF") {
			t.Errorf("retry lines %+v, want one naming the unexpected EOF", rs)
		}
		checkSyncMatchesTenant(t, tenant.Members(), fxRead(t, c1z))
	})
	t.Run("invalid JSON once", func(t *testing.T) {
		t.Parallel()
		tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 56,
			Faults: simulator.Faults{InvalidJSON: true, MalformedRequests: 1}})
		r, c1z := fxSync(t, srv.URL, 60*time.Second)
		fxRequireExit(t, r, exitInternal)
		requireLastLine(t, "sync with a non-JSON roster", r,
			"Cursor returned a members response that is not valid JSON (syntax error at offset 1 of")
		fxRequireNoLine(t, "sync with a non-JSON roster", r, "Something went wrong") // the body's text
		if n := tenant.Requests(membersPath); n != 1 {
			t.Errorf("%s requests: %d, want exactly 1 (a 200 is not retried)", membersPath, n)
		}
		requireNoFinishedSync(t, c1z)

		r, c1z = fxSync(t, srv.URL, 60*time.Second)
		fxRequireExit(t, r, 0)
		if n := tenant.Requests(membersPath); n != 2 {
			t.Errorf("%s requests after the second run: %d, want 2", membersPath, n)
		}
		checkSyncMatchesTenant(t, tenant.Members(), fxRead(t, c1z))
	})
}

// A response slower than the per-attempt timeout (baton's
// --http-timeout-seconds, here 1 s) is abandoned and retried; the retry is fast.
func TestCursorSlowerThanTheTimeout(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 57,
		Faults: simulator.Faults{Delay: 5 * time.Second, DelayedRequests: 1}})
	r, c1z := fxSync(t, srv.URL, 60*time.Second, "--http-timeout-seconds", "1")
	fxRequireExit(t, r, 0)
	if n := tenant.Requests(membersPath); n != 2 {
		t.Errorf("%s requests: %d, want exactly 2 (the slow one abandoned, then the roster)", membersPath, n)
	}
	rs := fxRetries(r.out.String())
	if len(rs) != 1 || !strings.Contains(rs[0].Reason, "no complete answer within the 1s attempt timeout") || rs[0].Wait != "1s" {
		t.Errorf("retry lines %+v, want one naming the 1s attempt timeout, wait 1s", rs)
	}
	if r.duration > 5*time.Second+10*time.Second {
		t.Errorf("sync took %v; the slow answer (5 s) should have been abandoned after 1 s", r.duration)
	}
	checkSyncMatchesTenant(t, tenant.Members(), fxRead(t, c1z))
}

// An empty team syncs: no users, no grants, the three known roles.
func TestSyncEmptyRoster(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 0})
	r, c1z := fxSync(t, srv.URL, 60*time.Second)
	fxRequireExit(t, r, 0)
	c := fxRead(t, c1z)
	if n := len(c.OfType("user")); n != 0 {
		t.Errorf("users: %d, want 0", n)
	}
	var roles []string
	for _, r := range c.OfType("role") {
		roles = append(roles, r.GetId().GetResource())
	}
	slices.Sort(roles)
	if strings.Join(roles, ",") != "free-owner,member,owner" {
		t.Errorf("roles %v, want owner, member, free-owner", roles)
	}
	if len(c.Entitlements) != 3 || len(c.Grants) != 0 {
		t.Errorf("%d entitlements and %d grants, want 3 and 0", len(c.Entitlements), len(c.Grants))
	}
	if n := tenant.Requests(membersPath); n != 1 {
		t.Errorf("%s requests: %d, want 1", membersPath, n)
	}
}

// Cursor may leave removed members out (forum report F-REM2): they are then
// simply absent from the c1z, not disabled. Nothing fails.
func TestSyncWhenCursorOmitsRemovedMembers(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 200, Seed: 58, OmitRemoved: true})
	r, c1z := fxSync(t, srv.URL, 60*time.Second)
	fxRequireExit(t, r, 0)
	c := fxRead(t, c1z)
	ids := map[string]*v2.Resource{}
	for _, u := range c.OfType("user") {
		ids[u.GetId().GetResource()] = u
	}
	active, removed := 0, 0
	for _, m := range tenant.Members() {
		u, ok := ids[strings.ToLower(m.Email)]
		switch {
		case m.IsRemoved:
			removed++
			if ok {
				t.Errorf("removed member %s is in the c1z although Cursor left it out", m.Email)
			}
		case !ok:
			t.Errorf("active member %s missing", m.Email)
		default:
			active++
			if u.GetStatus().GetStatus() != v2.Status_RESOURCE_STATUS_ENABLED {
				t.Errorf("active member %s is not enabled", m.Email)
			}
		}
	}
	if removed == 0 || len(ids) != active || len(c.Grants) != active {
		t.Errorf("removed %d, users %d, grants %d, active %d: want some removed, and users = grants = active",
			removed, len(ids), len(c.Grants), active)
	}
}

// 100,000 members: one request, every member, one grant per active member.
func TestSync100kMembers(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 100_000, Seed: 59, IDStyle: simulator.IDStyleMixed})
	r, c1z := fxSync(t, srv.URL, 300*time.Second)
	fxRequireExit(t, r, 0)
	t.Logf("100,000-member sync took %v", r.duration)
	c := fxRead(t, c1z)
	members := tenant.Members()
	wantUsers := map[string]bool{}
	active := 0
	for _, m := range members {
		wantUsers[strings.ToLower(m.Email)] = !m.IsRemoved
		if !m.IsRemoved {
			active++
		}
	}
	users := c.OfType("user")
	if len(users) != len(members) {
		t.Errorf("users: %d, want %d", len(users), len(members))
	}
	disabled := 0
	for _, u := range users {
		enabled, ok := wantUsers[u.GetId().GetResource()]
		if !ok {
			t.Fatalf("user %q is not a member", u.GetId().GetResource())
		}
		if isDisabled := u.GetStatus().GetStatus() == v2.Status_RESOURCE_STATUS_DISABLED; isDisabled == enabled {
			t.Errorf("user %s: disabled=%v, want %v", u.GetId().GetResource(), isDisabled, !enabled)
		}
		if !enabled {
			disabled++
		}
	}
	if disabled != len(members)-active || len(c.Grants) != active {
		t.Errorf("disabled users %d, grants %d; want %d and %d (one grant per active member)",
			disabled, len(c.Grants), len(members)-active, active)
	}
	if n := tenant.Requests(membersPath); n != 1 {
		t.Errorf("%s requests: %d for 100,000 members, want exactly 1", membersPath, n)
	}
}

// v2Plugin builds host/pluginproc/testdata/v2plugin (a go-plugin server that
// offers only protocol version 2) once.
func v2Plugin(t *testing.T) string {
	t.Helper()
	v2PluginOnce.Do(func() {
		out := filepath.Join(binDir, "v2plugin")
		build := exec.Command("go", "build", "-o", out, "./host/pluginproc/testdata/v2plugin")
		build.Dir = filepath.Join("..", "..")
		if b, err := build.CombinedOutput(); err != nil {
			v2PluginErr = fmt.Errorf("building v2plugin: %v\n%s", err, b)
			return
		}
		v2PluginBin = out
	})
	if v2PluginErr != nil {
		t.Fatal(v2PluginErr)
	}
	return v2PluginBin
}

// A plugin that speaks another protocol version is refused with a line naming
// it, before anything reaches Cursor, and it does not keep running.
func TestPluginOfAnotherProtocolVersion(t *testing.T) {
	t.Parallel()
	bin := v2Plugin(t)
	_, srv := newTenant(t, simulator.Config{Members: 20})
	r, c1z := fxSync(t, srv.URL, 60*time.Second, "--plugin-path", bin)
	fxRequireExit(t, r, exitFailedPrecondition)
	requireLastLine(t, "sync with a version-2 plugin", r,
		"could not start the plugin "+bin, "incompatible API version", "Plugin version: 2")
	fxRequireNoRequests(t, srv.URL)
	requireNoFinishedSync(t, c1z)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []int
		for _, p := range allProcs() {
			if p.state != 'Z' && len(p.argv) > 0 && p.argv[0] == bin {
				left = append(left, p.pid)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refused plugin still runs: pids %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --- SCIM side ---
