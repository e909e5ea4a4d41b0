//go:build linux

package e2e

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const (
	auditPath = "/teams/audit-logs"
	usagePath = "/teams/daily-usage-data"
	spendPath = "/teams/spend"
)

// userByEmail finds the user whose id is the lower-cased email.
func userByEmail(t *testing.T, c *c1zread.Contents, email string) *v2.Resource {
	t.Helper()
	for _, u := range c.OfType("user") {
		if u.GetId().GetResource() == strings.ToLower(email) {
			return u
		}
	}
	t.Fatalf("no user %s in the c1z", email)
	return nil
}

func profileOf(t *testing.T, u *v2.Resource) map[string]any {
	t.Helper()
	return u.GetProfile().AsMap()
}

func lastLoginOf(t *testing.T, u *v2.Resource) time.Time {
	t.Helper()
	ut, err := rs.GetUserTrait(u)
	if err != nil {
		t.Fatal(err)
	}
	if ut.GetLastLogin() == nil {
		return time.Time{}
	}
	return ut.GetLastLogin().AsTime()
}

// windowDays are the active days of row inside the default 30-day window
// (day d starts d days before today, 00:00 UTC; the window starts 30 days
// before now, so day 30 falls outside).
func windowDays(tenant *simulator.Tenant, row int) []int {
	start := time.Now().Add(-30 * 24 * time.Hour)
	var in []int
	for _, d := range tenant.ActiveDays(row) {
		if !tenant.ActivityToday().AddDate(0, 0, -d).Before(start) {
			in = append(in, d)
		}
	}
	return in
}

func TestSyncPutsLastActivityActiveDaysAndSpendOnEachMember(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 200, Seed: 11})
	c, r, _ := syncOK(t, srv.URL)
	members := tenant.Members()
	today := tenant.ActivityToday()

	// Active yesterday: usage days and the day itself.
	u := userByEmail(t, c, members[simulator.RowActiveYesterday].Email)
	p := profileOf(t, u)
	days := windowDays(tenant, simulator.RowActiveYesterday)
	if p["active_days"] != float64(len(days)) || p["last_active_day"] != today.AddDate(0, 0, -1).Format(time.DateOnly) {
		t.Errorf("active yesterday: active_days %v last_active_day %v, want %d and yesterday", p["active_days"], p["last_active_day"], len(days))
	}
	if p["no_activity_in_window"] != false || p["activity_window_days"] != float64(30) {
		t.Errorf("active yesterday: no_activity_in_window %v, window %v", p["no_activity_in_window"], p["activity_window_days"])
	}

	// Logged in after the last day of use: the trait's last login is the login event.
	row := simulator.RowLoginAfterUse
	var lastLogin time.Time
	for _, e := range tenant.AuditEvents() {
		if e.Type == "login" && e.UserEmail == members[row].Email && e.Timestamp.After(lastLogin) {
			lastLogin = e.Timestamp
		}
	}
	u = userByEmail(t, c, members[row].Email)
	if got := lastLoginOf(t, u); !got.Equal(lastLogin) {
		t.Errorf("login after use: trait last login %v, want the login event %v", got, lastLogin)
	}
	if p := profileOf(t, u); p["last_active_day"] != today.AddDate(0, 0, -3).Format(time.DateOnly) || p["last_login"] != lastLogin.UTC().Format(time.RFC3339) {
		t.Errorf("login after use: last_active_day %v last_login %v", p["last_active_day"], p["last_login"])
	}
	// Used yesterday, no later login: the trait's last login is that day.
	if got := lastLoginOf(t, userByEmail(t, c, members[simulator.RowActiveYesterday].Email)); got.Before(today.AddDate(0, 0, -1)) {
		t.Errorf("active yesterday: trait last login %v, want yesterday or later", got)
	}

	// Never logged in, and active only long ago: they say so.
	for _, row := range []int{simulator.RowNeverLoggedIn, simulator.RowStale} {
		u := userByEmail(t, c, members[row].Email)
		p := profileOf(t, u)
		if p["no_activity_in_window"] != true || p["active_days"] != float64(0) {
			t.Errorf("row %d: no_activity_in_window %v active_days %v, want true and 0", row, p["no_activity_in_window"], p["active_days"])
		}
		if _, has := p["last_active_day"]; has {
			t.Errorf("row %d: last_active_day %v, want none", row, p["last_active_day"])
		}
		if got := lastLoginOf(t, u); !got.IsZero() {
			t.Errorf("row %d: trait last login %v, want none", row, got)
		}
	}

	// Spend as /teams/spend reports it, the limit only where there is one.
	sawLimit, sawNoLimit := false, false
	for i, m := range members {
		if m.IsRemoved {
			continue
		}
		cents, fast, limit := tenant.SpendOf(i)
		p := profileOf(t, userByEmail(t, c, m.Email))
		if got, _ := p["spend_cents"].(float64); math.Abs(got-cents) > 1e-6 || p["fast_premium_requests"] != float64(fast) {
			t.Fatalf("%s: spend_cents %v fast_premium_requests %v, want %v and %d", m.Email, p["spend_cents"], p["fast_premium_requests"], cents, fast)
		}
		got, has := p["spend_limit_dollars"]
		switch {
		case limit == nil && has:
			t.Errorf("%s: spend_limit_dollars %v, but Cursor returns no limit", m.Email, got)
		case limit != nil && got != *limit:
			t.Errorf("%s: spend_limit_dollars %v, want %v", m.Email, got, *limit)
		}
		sawLimit, sawNoLimit = sawLimit || limit != nil, sawNoLimit || limit == nil
	}
	if !sawLimit || !sawNoLimit {
		t.Fatal("the simulator gave no member with and without a spend limit; this test needs both")
	}

	// Requests: one usage window, one spend page, a few audit pages; logged.
	if n := tenant.Requests(usagePath); n != 1 {
		t.Errorf("%s requested %d times, want 1 (one 30-day window)", usagePath, n)
	}
	if n := tenant.Requests(spendPath); n != 1 {
		t.Errorf("%s requested %d times, want 1 (200 members fit a page)", spendPath, n)
	}
	if n := tenant.Requests(auditPath); n < 1 || n > 4 {
		t.Errorf("%s requested %d times, want 1..4", auditPath, n)
	}
	if _, ok := anyLine(r.out.String(), "read member activity from Cursor", "enrichment_requests"); !ok {
		t.Errorf("no log line gives the enrichment request count; output:\n%s", tail(r.out.String(), 30))
	}
}

func TestActivityDaysZeroTurnsEnrichmentOff(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 50})
	c, _, _ := syncOK(t, srv.URL, "--cursor-activity-days", "0")
	p := profileOf(t, userByEmail(t, c, tenant.Members()[simulator.RowActiveYesterday].Email))
	for _, k := range []string{"active_days", "spend_cents", "no_activity_in_window", "activity_window_days"} {
		if _, has := p[k]; has {
			t.Errorf("profile has %s with activity off", k)
		}
	}
	for _, path := range []string{auditPath, usagePath, spendPath} {
		if n := tenant.Requests(path); n != 0 {
			t.Errorf("%s requested %d times with activity off", path, n)
		}
	}
}

func TestActivityDaysOutOfRangeIsOneClearError(t *testing.T) {
	_, srv := newTenant(t, simulator.Config{Members: 5})
	c1z := t.TempDir() + "/out.c1z"
	r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z, "--cursor-activity-days", "91"), Key: strPtr(testKey())}, 60*time.Second)
	requireFailure(t, r, "cursor-activity-days", "90")
}

// Enrichment never fails a sync: whatever Cursor does on these routes, the
// roster is synced and a WARNING says which data is missing and why.
func TestEnrichmentFailuresDegradeToTheRosterAndAWarning(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults simulator.ActivityFaults
		why    string
		// requests to the activity routes at most: three parts side by side,
		// a 5xx tried three times, a 403 or a 429 once; nothing after a
		// part's first request fails
		maxRequests int
	}{
		{"a key without the scope (403)", simulator.ActivityFaults{Forbidden: true}, "HTTP 403", 3},
		{"5xx after the short retries", simulator.ActivityFaults{ServerErrors: -1}, "HTTP 500", 9},
		{"429 past the budget", simulator.ActivityFaults{RateLimited: 1000}, "HTTP 429", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenant, srv := newTenant(t, simulator.Config{Members: 60, ActivityFaults: tc.faults})
			c, r, _ := syncOK(t, srv.URL)
			checkSyncMatchesTenant(t, tenant.Members(), c)
			out := r.out.String()
			line, ok := anyLine(out, "member activity is incomplete", tc.why)
			if !ok {
				t.Fatalf("no warning names the missing activity and %q; output:\n%s", tc.why, tail(out, 30))
			}
			if !strings.Contains(strings.ToLower(line), "warn") {
				t.Errorf("the missing-activity line is not a warning: %s", line)
			}
			p := profileOf(t, userByEmail(t, c, tenant.Members()[simulator.RowNeverLoggedIn].Email))
			if p["usage_unknown"] != true || p["spend_unknown"] != true {
				t.Errorf("profile %v: want usage_unknown and spend_unknown, not a claim of no activity", p)
			}
			if _, has := p["no_activity_in_window"]; has {
				t.Errorf("profile claims no_activity_in_window=%v without the data", p["no_activity_in_window"])
			}
			total := tenant.Requests(auditPath) + tenant.Requests(usagePath) + tenant.Requests(spendPath)
			if total > tc.maxRequests {
				t.Errorf("%d requests to the activity routes, want at most %d", total, tc.maxRequests)
			}
		})
	}
}

// runFeed runs the one-shot event feed and parses the events it prints.
func runFeed(t *testing.T, srvURL string, since time.Time) []*v2.Event {
	t.Helper()
	events, _ := runFeedWith(t, srvURL, since, runOpts{Key: strPtr(testKey())})
	return events
}

// runFeedWith is runFeed with o's key and environment; it also returns the run.
func runFeedWith(t *testing.T, srvURL string, since time.Time, o runOpts) ([]*v2.Event, *hostRun) {
	t.Helper()
	o.Args = []string{"--cursor-base-url", srvURL, "--event-feed", "true", "--event-feed-id", "cursor_audit_log",
		"--event-feed-start-at", since.UTC().Format(time.RFC3339)}
	r := runHost(t, o, 120*time.Second)
	if code := r.exitCode(); code != 0 {
		t.Fatalf("event feed exited %d; output:\n%s", code, tail(r.out.String(), 30))
	}
	var events []*v2.Event
	for _, line := range strings.Split(r.out.String(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") || !strings.Contains(line, "occurredAt") {
			continue
		}
		var probe map[string]any
		if json.Unmarshal([]byte(line), &probe) != nil {
			continue
		}
		ev := &v2.Event{}
		if err := protojson.Unmarshal([]byte(line), ev); err != nil {
			t.Fatalf("an event line is not a v2.Event: %v\n%s", err, line)
		}
		events = append(events, ev)
	}
	return events, r
}

func TestEventFeedServesLoginsAsUsageAndMemberChangesAsResourceChanges(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 120, Seed: 5})
	since := time.Now().Add(-45 * 24 * time.Hour) // more than Cursor's 30-day window: the feed must split it
	events := runFeed(t, srv.URL, since)

	want := map[string]simulator.AuditEvent{}
	withoutEmail := 0
	for _, e := range tenant.AuditEvents() {
		if e.Timestamp.Before(since) {
			continue
		}
		switch e.Type {
		case "login":
			if e.UserEmail == "" {
				withoutEmail++
				continue
			}
		case "add_user", "remove_user", "update_user_role":
		default:
			continue
		}
		want[e.ID] = e
	}
	if withoutEmail == 0 {
		t.Fatal("the simulator's log has no login without an email; this test needs one")
	}
	got := map[string]*v2.Event{}
	oldest := time.Now()
	for _, ev := range events {
		got[ev.GetId()] = ev // a repeat (window edges) has the same id: it dedupes
		if ts := ev.GetOccurredAt().AsTime(); ts.Before(oldest) {
			oldest = ts
		}
	}
	if len(got) != len(want) {
		t.Errorf("feed gave %d distinct events, want %d", len(got), len(want))
	}
	if time.Since(oldest) < 31*24*time.Hour {
		t.Errorf("the oldest event is from %v: the window before the last 30 days was not read", oldest)
	}
	sawLogin, sawRemove := false, false
	for id, w := range want {
		ev, ok := got[id]
		if !ok {
			t.Errorf("event %s (%s) missing from the feed", id, w.Type)
			continue
		}
		if !ev.GetOccurredAt().AsTime().Equal(w.Timestamp) {
			t.Errorf("event %s occurred at %v, want %v", id, ev.GetOccurredAt().AsTime(), w.Timestamp)
		}
		switch w.Type {
		case "login":
			sawLogin = true
			ue := ev.GetUsageEvent()
			if ue == nil || ue.GetActorResource().GetId().GetResource() != strings.ToLower(w.UserEmail) ||
				ue.GetActorResource().GetId().GetResourceType() != "user" || ue.GetTargetResource().GetId().GetResourceType() != "team" {
				t.Errorf("login %s: %v, want a usage event of user %s on the team", id, ev, strings.ToLower(w.UserEmail))
			}
		default:
			sawRemove = sawRemove || w.Type == "remove_user"
			rc := ev.GetResourceChangeEvent()
			if rc == nil || rc.GetResourceId().GetResource() != strings.ToLower(w.Email) || rc.GetResourceId().GetResourceType() != "user" {
				t.Errorf("%s %s: %v, want a resource change of user %s", w.Type, id, ev, strings.ToLower(w.Email))
			}
		}
	}
	if !sawLogin || !sawRemove {
		t.Errorf("feed had a login: %v, a remove_user: %v; want both", sawLogin, sawRemove)
	}
	if n := tenant.Requests(auditPath); n < 2 {
		t.Errorf("%s requested %d times for 45 days, want at least 2 windows", auditPath, n)
	}
}
