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
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

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

// documentedRoster is what any server speaking the documented
// GET /teams/members (cursor-api.md §2.1) may send: ids as strings and as
// numbers (one beyond float64's precision), unknown fields of every JSON
// type, unicode, emoji, quotes, escapes, an empty name, one name on two
// people, a row without an email, and emails repeated in other letter cases:
// removed then active (the active row wins), two removed and two active
// (Cursor's first row wins).
const documentedRoster = `{"teamMembers":[
 {"id":"user_3fKq9ZbT1mWcYp0aLxRv7sHdEe","name":"Dana Levi","email":"Dana.Levi@Example.COM","role":"owner","isRemoved":false,"user_id":501,"seat":{"type":"enterprise","since":"2026-01-01","flags":[true,null]}},
 {"id":12345,"name":"","email":"no.name@example.com","role":"member","isRemoved":false},
 {"id":"user_Zoe","name":"Zoë \"Z\" Ødegård 🚀","email":"zoe@example.com","role":"member","isRemoved":false,"tags":["a",1,null,{"b":[]}]},
 {"id":"user_PatOld","name":"Pat (old account)","email":"PAT@example.com","role":"member","isRemoved":true},
 {"id":9007199254740993,"name":"Pat Active","email":"pat@example.com","role":"free-owner","isRemoved":false},
 {"id":"user_LeeFirst","name":"Lee First","email":"lee@example.com","role":"owner","isRemoved":true},
 {"id":"user_LeeSecond","name":"Lee Second","email":"Lee@Example.com","role":"member","isRemoved":true},
 {"id":"user_KimFirst","name":"Kim First","email":"KIM@example.com","role":"member","isRemoved":false},
 {"id":"user_KimSecond","name":"Kim Second","email":"kim@example.com","role":"owner","isRemoved":false},
 {"id":"user_Alex1","name":"Alex Kim","email":"alex.kim.1@example.com","role":"member","isRemoved":false},
 {"id":"user_Alex2","name":"Alex Kim","email":"alex.kim.2@example.com","role":"member","isRemoved":false},
 {"id":"user_NoEmail","name":"No Email","email":"","role":"member","isRemoved":false},
 {"id":"user_Renee","name":"Ren\u00e9e O'Brien-Smith \\o/","email":"renee@example.com","role":"billing-admin","isRemoved":false,"lastSeen":1.5e9}
],"nextCursor":null,"apiVersion":"2026-08"}`

// fxWantUser is one expected account of documentedRoster.
type fxWantUser struct {
	name, email, cursorID, role string
	removed                     bool
}

var documentedRosterWant = map[string]fxWantUser{
	"dana.levi@example.com":  {"Dana Levi", "Dana.Levi@Example.COM", "user_3fKq9ZbT1mWcYp0aLxRv7sHdEe", "owner", false},
	"no.name@example.com":    {"no.name@example.com", "no.name@example.com", "12345", "member", false},
	"zoe@example.com":        {`Zoë "Z" Ødegård 🚀`, "zoe@example.com", "user_Zoe", "member", false},
	"pat@example.com":        {"Pat Active", "pat@example.com", "9007199254740993", "free-owner", false},
	"lee@example.com":        {"Lee First", "lee@example.com", "user_LeeFirst", "owner", true},
	"kim@example.com":        {"Kim First", "KIM@example.com", "user_KimFirst", "member", false},
	"alex.kim.1@example.com": {"Alex Kim", "alex.kim.1@example.com", "user_Alex1", "member", false},
	"alex.kim.2@example.com": {"Alex Kim", "alex.kim.2@example.com", "user_Alex2", "member", false},
	"renee@example.com":      {`Renée O'Brien-Smith \o/`, "renee@example.com", "user_Renee", "billing-admin", false},
}

// fxDocumentedServer serves body as GET /teams/members to Basic auth with
// key (and an empty password), like Cursor; it counts every request.
func fxDocumentedServer(t *testing.T, key, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == membersPath { // the count is of roster fetches; activity routes get a 404
			n.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		user, pass, ok := r.BasicAuth()
		switch {
		case r.URL.Path != membersPath || r.Method != http.MethodGet:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"Not Found","message":"Resource not found"}`)
		case !ok || user != key || pass != "":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"statusCode":401,"error":"Unauthorized","message":"Invalid API key"}`)
		default:
			fmt.Fprint(w, body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// Any server that speaks the documented GET /teams/members works, and the
// awkward rows land as README says.
func TestSyncAnyDocumentedServer(t *testing.T) {
	t.Parallel()
	if !json.Valid([]byte(documentedRoster)) {
		t.Fatal("documentedRoster is not valid JSON")
	}
	srv, requests := fxDocumentedServer(t, testKey(), documentedRoster)
	r, c1z := fxSync(t, srv.URL, 60*time.Second)
	fxRequireExit(t, r, 0)
	if n := requests.Load(); n != 1 {
		t.Errorf("requests: %d, want exactly 1", n)
	}
	// What the person is told about the odd rows.
	requireLine(t, "sync", r, "3 roster rows repeat another row's email")
	requireLine(t, "sync", r, "1 roster rows have no email")
	requireLine(t, "sync", r, "billing-admin")

	c := fxRead(t, c1z)
	users := c.OfType("user")
	if len(users) != len(documentedRosterWant) {
		t.Errorf("users: %d, want %d (one per email, the row without one skipped)", len(users), len(documentedRosterWant))
	}
	for _, u := range users {
		id := u.GetId().GetResource()
		want, ok := documentedRosterWant[id]
		if !ok {
			t.Errorf("unexpected user %q", id)
			continue
		}
		if got := u.GetDisplayName(); got != want.name {
			t.Errorf("%s: display name %q, want %q", id, got, want.name)
		}
		ut, err := rs.GetUserTrait(u)
		if err != nil {
			t.Errorf("%s: no user trait: %v", id, err)
			continue
		}
		if em := ut.GetEmails(); len(em) != 1 || em[0].GetAddress() != want.email {
			t.Errorf("%s: emails %v, want %q as the winning row sent it", id, em, want.email)
		}
		prof := u.GetProfile().GetFields()
		if got := prof["cursor_id"].GetStringValue(); got != want.cursorID {
			t.Errorf("%s: cursor_id %q, want %q", id, got, want.cursorID)
		}
		if got := prof["role"].GetStringValue(); got != want.role {
			t.Errorf("%s: role %q, want %q", id, got, want.role)
		}
		disabled := u.GetStatus().GetStatus() == v2.Status_RESOURCE_STATUS_DISABLED
		if disabled != want.removed || prof["removed"].GetBoolValue() != want.removed {
			t.Errorf("%s: disabled %v, profile removed %v; want %v", id, disabled, prof["removed"], want.removed)
		}
	}
	roles := map[string]bool{}
	for _, r := range c.OfType("role") {
		roles[r.GetId().GetResource()] = true
	}
	if len(roles) != 4 || !roles["owner"] || !roles["member"] || !roles["free-owner"] || !roles["billing-admin"] {
		t.Errorf("roles %v, want owner, member, free-owner, billing-admin", keys(roles))
	}
	gotGrants := map[string]string{}
	for _, g := range c.Grants {
		gotGrants[g.GetPrincipal().GetId().GetResource()] = g.GetEntitlement().GetId()
	}
	for id, want := range documentedRosterWant {
		got, ok := gotGrants[id]
		switch {
		case want.removed && ok:
			t.Errorf("removed %s holds %s", id, got)
		case !want.removed && got != "role:"+want.role+":assigned":
			t.Errorf("%s: grant %q, want role:%s:assigned", id, got, want.role)
		}
	}
	if len(c.Grants) != 8 {
		t.Errorf("grants: %d, want 8 (one per active account)", len(c.Grants))
	}
}

// --- process side ---

var (
	v2PluginOnce sync.Once
	v2PluginBin  string
	v2PluginErr  error
)

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

// A SCIM search that misses a user who exists (a lagging replica), so the
// create is answered 409: the connector looks again, finds the user and
// reports that the account exists. Nothing is created.
func TestSCIMCreateConflictAfterSearchMiss(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 61,
		Faults: simulator.Faults{SCIMSearchMisses: 1}})
	email := tenant.Members()[simulator.RowSCIMActive].Email
	before := len(tenant.SCIMUsers())

	r := runCursor(t, base, scimEnv(base, scimTestToken()), createArgs(email, "Already", "There")...)
	fxRequireExit(t, r, 0)
	requireLine(t, "create of an existing user", r, email, "already has a Cursor account")
	fxRequireNoLine(t, "create of an existing user", r, "created the Cursor account")
	if n := tenant.Requests(keySCIMCreate); n != 1 {
		t.Errorf("%s requests: %d, want 1 (answered 409)", keySCIMCreate, n)
	}
	if n := len(tenant.SCIMUsers()); n != before {
		t.Errorf("SCIM users: %d, want still %d", n, before)
	}
	if n := len(scimUsersNamed(tenant, email)); n != 1 {
		t.Errorf("SCIM users named %s: %d, want 1", email, n)
	}
}

// The SCIM server's search never finds the user (as a server whose filter
// compares userName case-sensitively would not): the connector does not trust
// the filter, finds the user by listing the directory itself, and creates
// nothing (before the fix it POSTed and then failed on the 409).
func TestSCIMCreateConflictSearchNeverFinds(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 62,
		Faults: simulator.Faults{SCIMSearchMisses: -1}})
	email := tenant.Members()[simulator.RowSCIMActive].Email
	before := len(tenant.SCIMUsers())

	r := runCursor(t, base, scimEnv(base, scimTestToken()), createArgs(email, "Already", "There")...)
	fxRequireNoLine(t, "create of a user the search misses", r, "created the Cursor account")
	fxRequireExit(t, r, 0)
	if _, ok := anyLine(r.out.String(), email+" already has a Cursor account managed by SCIM"); !ok {
		t.Errorf("no line says %s already has an account:\n%s", email, tail(r.out.String(), 10))
	}
	if n := tenant.Requests(keySCIMCreate); n != 0 {
		t.Errorf("%s requests: %d, want 0 (the listing found the user)", keySCIMCreate, n)
	}
	if n := len(tenant.SCIMUsers()); n != before {
		t.Errorf("SCIM users: %d, want still %d", n, before)
	}
}

// The SCIM user is deleted by someone else between the connector's search and
// its DELETE, which is answered 404: the person is gone, which is what was
// asked, so the delete succeeds; a repeat sends nothing.
func TestSCIMDeleteRacedToNotFound(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 63,
		Faults: simulator.Faults{SCIMConcurrentDeletes: 1}})
	env := scimEnv(base, scimTestToken())
	m := tenant.Members()[simulator.RowSCIMActive]
	id := strings.ToLower(m.Email)

	r := runCursor(t, base, env, deleteArgs(id)...)
	fxRequireExit(t, r, 0)
	requireLine(t, "delete answered 404", r, "deleted the SCIM user "+id)
	if n := tenant.Requests(keySCIMDelete); n != 1 {
		t.Errorf("%s requests: %d, want 1", keySCIMDelete, n)
	}
	if !tenant.Members()[simulator.RowSCIMActive].IsRemoved {
		t.Errorf("member %s is not removed", m.Email)
	}

	r = runCursor(t, base, env, deleteArgs(id)...)
	fxRequireExit(t, r, 0)
	if n := tenant.Requests(keySCIMDelete); n != 1 {
		t.Errorf("%s requests after the repeat: %d, want still 1", keySCIMDelete, n)
	}
}

// SCIM answering 503 forever: six attempts, exit 10 with a line naming the
// SCIM request, and nothing created.
func TestSCIMKeepsFailing(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 64,
		Faults: simulator.Faults{SCIMServerErrors: -1, SCIMRetryAfter: "1"}})
	r := runCursor(t, base, scimEnv(base, scimTestToken()), createArgs("new.hire@newhire.test", "New", "Hire")...)
	fxRequireExit(t, r, exitAborted)
	requireLastLine(t, "create while SCIM fails", r,
		"Cursor's SCIM endpoint kept failing GET /Users (HTTP 503", "after 6 attempts")
	if n := scimRequests(allRequests(t, base)); n != 6 {
		t.Errorf("SCIM requests: %d, want exactly 6 (one try and five retries)", n)
	}
	if n := tenant.Requests(keySCIMCreate); n != 0 {
		t.Errorf("%s requests: %d, want 0", keySCIMCreate, n)
	}
	if n := len(scimUsersNamed(tenant, "new.hire@newhire.test")); n != 0 {
		t.Errorf("SCIM users created: %d, want 0", n)
	}
}

// --- exit codes of refusals ---

// The exact exit code and last line of Cursor's refusals: a rejected API key
// (16), a plan without the Admin API (7), a rejected SCIM token (16).
func TestRefusalExitCodes(t *testing.T) {
	t.Parallel()
	wrongKey := "crsr_" + strings.Repeat("0", 64)
	wrongToken := scimTestToken()[:20] + "WRONG" + scimTestToken()[25:]
	cases := []struct {
		name     string
		cfg      simulator.Config
		key      string
		env      func(base string) []string
		code     int
		last     []string
		requests map[string]int
	}{
		{name: "API key rejected", cfg: simulator.Config{}, key: wrongKey, code: exitUnauthenticated,
			last:     []string{"Cursor rejected the API key (HTTP 401", "check cursor-api-key (BATON_CURSOR_API_KEY)"},
			requests: map[string]int{membersPath: 1, auditPath: 1, spendPath: 1}},
		{name: "not an Enterprise plan", cfg: simulator.Config{BusinessPlan: true}, key: testKey(), code: exitPermissionDenied,
			last:     []string{"Cursor refused the Admin API (HTTP 403", "Enterprise plan"},
			requests: map[string]int{membersPath: 1, auditPath: 1, spendPath: 1}},
		{name: "SCIM token rejected", cfg: simulator.Config{SCIMToken: scimTestToken()}, key: testKey(), code: exitUnauthenticated,
			env:      func(base string) []string { return scimEnv(base, wrongToken) },
			last:     []string{"Cursor's SCIM endpoint rejected the token (HTTP 401", "check cursor-scim-token"},
			requests: map[string]int{membersPath: 1, keySCIMList: 1}},
	}
	// Activity is read beside the roster read (issue 18.2): its first
	// requests (the newest login events, spend's first page; daily usage
	// once the team's size is known) go out with it, each once, and are
	// refused with it when the key is; after a SCIM refusal they may or may
	// not have been sent.
	activity := []string{auditPath, usagePath, spendPath}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Members, cfg.Seed = 20, 65
			_, srv := newTenant(t, cfg)
			var env []string
			if tc.env != nil {
				env = tc.env(srv.URL)
			}
			c1z := filepath.Join(t.TempDir(), "out.c1z")
			r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(tc.key), Env: env}, 60*time.Second)
			fxRequireExit(t, r, tc.code)
			requireLastLine(t, tc.name, r, tc.last...)
			got := allRequests(t, srv.URL)
			if _, keyRefused := tc.requests[auditPath]; !keyRefused {
				for _, path := range activity {
					if got[path] <= 1 {
						delete(got, path)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.requests) {
				t.Errorf("requests %v, want %v (refusals are not retried)", got, tc.requests)
			}
			requireNoFinishedSync(t, c1z)
			requireNoSecret(t, "the output", []byte(r.out.String()), tc.key)
		})
	}
}

// --- configuration errors ---

// fxCountingListener accepts TCP connections on loopback and counts them; it
// stands in for a sidecar that must never be contacted.
func fxCountingListener(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return "http://" + l.Addr().String(), &n
}

// Each configuration error fails before any network call, with exit 3 and a
// last line naming the setting; a key is never echoed.
func TestConfigErrorsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	key := testKey()
	cases := []struct {
		name string
		key  *string                         // nil: BATON_CURSOR_API_KEY unset
		args func(base, c1z string) []string // the host's arguments; SIDECAR stands for a listener that counts connections
		last []string                        // the last line names all of these
	}{
		{name: "API key unset", key: nil,
			last: []string{"cursor-api-key is not set", "BATON_CURSOR_API_KEY"}},
		{name: "API key with inner whitespace", key: strPtr(key[:30] + " " + key[30:]),
			last: []string{"cursor-api-key contains whitespace", "the key is not shown here"}},
		{name: "API key with surrounding whitespace", key: strPtr(" " + key + "\t"),
			last: []string{"cursor-api-key has leading or trailing whitespace", "the key is not shown here"}},
		{name: "base URL without a scheme", key: &key,
			args: func(base, c1z string) []string {
				return []string{"--cursor-base-url", strings.TrimPrefix(base, "http://") + "/v1", "-f", c1z}
			},
			last: []string{"cursor-base-url", "expected something like https://api.cursor.com"}},
		{name: "base URL as a bare host name", key: &key,
			args: func(_, c1z string) []string { return []string{"--cursor-base-url", "api.cursor.com", "-f", c1z} },
			last: []string{"cursor-base-url must start with https:// or http:// (got api.cursor.com)"}},
		{name: "plugin token file missing", key: nil,
			args: func(_, c1z string) []string {
				return []string{"--plugin-address", "SIDECAR", "--plugin-token-file", "/nonexistent/sidecar.token", "-f", c1z}
			},
			last: []string{"plugin-token-file", "/nonexistent/sidecar.token", "no such file"}},
		{name: "plugin token file is a directory", key: nil,
			args: func(_, c1z string) []string {
				return []string{"--plugin-address", "SIDECAR", "--plugin-token-file", filepath.Dir(c1z), "-f", c1z}
			},
			last: []string{"plugin-token-file", "is a directory"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newTenant(t, simulator.Config{Members: 20, Seed: 66})
			sidecar, accepted := fxCountingListener(t)
			c1z := filepath.Join(t.TempDir(), "out.c1z")
			args := syncArgs(srv.URL, c1z)
			if tc.args != nil {
				args = tc.args(srv.URL, c1z)
			}
			for i, a := range args {
				if a == "SIDECAR" {
					args[i] = sidecar
				}
			}
			r := runHost(t, runOpts{Args: args, Key: tc.key}, 30*time.Second)
			fxRequireExit(t, r, exitInvalidArgument)
			requireLastLine(t, tc.name, r, tc.last...)
			fxRequireNoRequests(t, srv.URL)
			if n := accepted.Load(); n != 0 {
				t.Errorf("%d connections reached the sidecar address, want 0", n)
			}
			requireNoFinishedSync(t, c1z)
			if tc.key != nil {
				requireNoSecret(t, "the output", []byte(r.out.String()), strings.TrimSpace(*tc.key))
				requireNoSecret(t, "the output", []byte(r.out.String()), key)
			}
		})
	}
}
