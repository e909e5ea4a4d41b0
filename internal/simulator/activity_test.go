package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func activityTenant(t *testing.T, cfg Config) (*Tenant, string) {
	t.Helper()
	cfg.APIKey = "crsr_test"
	if cfg.Members == 0 {
		cfg.Members = 100
	}
	tenant, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return tenant, srv.URL
}

// call sends method path (with body for POST) and decodes a JSON answer.
func call(t *testing.T, base, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.SetBasicAuth("crsr_test", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: HTTP %d, not a JSON object: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, out
}

func TestAuditLogsServeSnakeCaseEventsNewestFirstWithTheirPaginationObject(t *testing.T) {
	tenant, base := activityTenant(t, Config{Seed: 3})
	code, _, out := call(t, base, "GET", "/teams/audit-logs?startTime=30d&endTime=now&pageSize=500", "")
	if code != 200 {
		t.Fatalf("HTTP %d: %v", code, out)
	}
	events := out["events"].([]any)
	if len(events) == 0 {
		t.Fatal("no events in the last 30 days")
	}
	first := events[0].(map[string]any)
	for _, f := range []string{"event_id", "timestamp", "ip_address", "event_type", "event_data"} {
		if _, ok := first[f]; !ok {
			t.Errorf("event lacks %q: %v", f, first)
		}
	}
	var last time.Time
	for i, e := range events {
		ts, err := time.Parse(time.RFC3339Nano, e.(map[string]any)["timestamp"].(string))
		if err != nil || !strings.HasSuffix(e.(map[string]any)["timestamp"].(string), "Z") {
			t.Fatalf("timestamp %v is not ISO-8601 UTC: %v", e.(map[string]any)["timestamp"], err)
		}
		if i > 0 && ts.After(last) {
			t.Fatalf("event %d is newer than the one before: not newest first", i)
		}
		last = ts
	}
	p := out["pagination"].(map[string]any)
	for _, f := range []string{"page", "pageSize", "totalCount", "totalPages", "hasNextPage", "hasPreviousPage"} {
		if _, ok := p[f]; !ok {
			t.Errorf("pagination lacks %q: %v", f, p)
		}
	}
	if _, ok := out["params"].(map[string]any)["startDate"].(float64); !ok {
		t.Errorf("params.startDate is not epoch ms: %v", out["params"])
	}

	// Removed members' own events carry no user_email; their remove_user event names them.
	removed := tenant.Members()[RowRemovedActive].Email
	sawRemoval := false
	for _, e := range tenant.AuditEvents() {
		if e.UserEmail == removed {
			t.Errorf("event %s of a removed member carries its email", e.ID)
		}
		if e.Type == "remove_user" && e.Email == removed {
			sawRemoval = true
		}
	}
	if !sawRemoval {
		t.Error("no remove_user event names the removed member")
	}
}

func TestAuditLogsRefuseAWindowOver30DaysAndAcceptTheDocumentedDateForms(t *testing.T) {
	_, base := activityTenant(t, Config{})
	if code, _, out := call(t, base, "GET", "/teams/audit-logs?startTime=31d&endTime=now", ""); code != 400 || !strings.Contains(fmt.Sprint(out["message"]), "30 days") {
		t.Errorf("a 31-day window: HTTP %d %v, want 400 naming 30 days", code, out)
	}
	now := time.Now().UTC()
	for _, q := range []string{
		"startTime=7d&endTime=now", "startTime=yesterday&endTime=today", "startTime=48h", "startTime=3600s",
		"startTime=" + now.AddDate(0, 0, -2).Format(time.DateOnly),
		"startTime=" + now.Add(-time.Hour).Format(time.RFC3339),
		fmt.Sprintf("startTime=%d&endTime=%d", now.Add(-time.Hour).Unix(), now.Unix()),
		fmt.Sprintf("startTime=%d&endTime=%d", now.Add(-time.Hour).UnixMilli(), now.UnixMilli()),
	} {
		if code, _, out := call(t, base, "GET", "/teams/audit-logs?"+q, ""); code != 200 {
			t.Errorf("%s: HTTP %d %v", q, code, out)
		}
	}
	if code, _, _ := call(t, base, "GET", "/teams/audit-logs?pageSize=501", ""); code != 400 {
		t.Errorf("pageSize 501: HTTP %d, want 400", code)
	}
}

func TestDailyUsageServesActiveRowsOrEveryMemberPagedWithTotalUsers(t *testing.T) {
	tenant, base := activityTenant(t, Config{Members: 40})
	today := tenant.ActivityToday()
	body := fmt.Sprintf(`{"startDate":%d,"endDate":%d}`, today.AddDate(0, 0, -30).UnixMilli(), today.UnixMilli())
	code, _, out := call(t, base, "POST", "/teams/daily-usage-data", body)
	if code != 200 {
		t.Fatalf("HTTP %d %v", code, out)
	}
	if _, paged := out["pagination"]; paged {
		t.Error("unpaged answer has a pagination object")
	}
	active := map[string]int{}
	for _, r := range out["data"].([]any) {
		row := r.(map[string]any)
		email, _ := row["email"].(string)
		if _, has := row["isActive"]; has {
			t.Fatal("unpaged rows carry isActive")
		}
		active[email]++
	}
	ms := tenant.Members()
	if active[ms[RowNeverLoggedIn].Email] != 0 || active[ms[RowStale].Email] != 0 {
		t.Error("a member who never logged in or was active only long ago has rows in the last 30 days")
	}
	if active[ms[RowActiveYesterday].Email] == 0 {
		t.Error("the member active yesterday has no row")
	}
	for _, d := range tenant.ActiveDays(RowRemovedActive) {
		if d <= 30 {
			if active[""] == 0 {
				t.Error("the removed member's active days in the window have no email-less rows")
			}
			break
		}
	}

	body = fmt.Sprintf(`{"startDate":%d,"endDate":%d,"page":2,"pageSize":10}`, today.AddDate(0, 0, -7).UnixMilli(), today.UnixMilli())
	_, _, out = call(t, base, "POST", "/teams/daily-usage-data", body)
	p := out["pagination"].(map[string]any)
	if p["totalUsers"] != float64(40) || p["totalPages"] != float64(4) || p["page"] != float64(2) {
		t.Errorf("pagination %v, want totalUsers 40 in 4 pages", p)
	}
	if rows := out["data"].([]any); len(rows) != 10*7 { // 10 users x days 1..7 (today has no history)
		t.Errorf("%d rows on a page of 10 users over 7 days, want 70", len(rows))
	}

	body = fmt.Sprintf(`{"startDate":%d,"endDate":%d}`, today.AddDate(0, 0, -31).UnixMilli(), today.UnixMilli())
	if code, _, out := call(t, base, "POST", "/teams/daily-usage-data", body); code != 400 || !strings.Contains(fmt.Sprint(out["message"]), "30 days") {
		t.Errorf("31 days: HTTP %d %v, want 400", code, out)
	}
	if code, _, _ := call(t, base, "POST", "/teams/daily-usage-data", `{}`); code != 400 {
		t.Errorf("no dates: HTTP %d, want 400", code)
	}
}

func TestSpendPagesWithTopLevelTotalsSortedByAmount(t *testing.T) {
	tenant, base := activityTenant(t, Config{Members: 30})
	code, _, out := call(t, base, "POST", "/teams/spend", `{"sortBy":"amount","sortDirection":"desc","page":1,"pageSize":10}`)
	if code != 200 {
		t.Fatalf("HTTP %d %v", code, out)
	}
	if _, has := out["pagination"]; has {
		t.Error("spend has a pagination object; Cursor's has top-level totals")
	}
	active := 0
	for _, m := range tenant.Members() {
		if !m.IsRemoved {
			active++
		}
	}
	if out["totalMembers"] != float64(active) || out["totalPages"] != float64((active+9)/10) {
		t.Errorf("totalMembers %v totalPages %v, want %d members", out["totalMembers"], out["totalPages"], active)
	}
	rows := out["teamMemberSpend"].([]any)
	for i := 1; i < len(rows); i++ {
		if rows[i].(map[string]any)["spendCents"].(float64) > rows[i-1].(map[string]any)["spendCents"].(float64) {
			t.Fatal("not sorted by amount, descending")
		}
	}
	if _, ok := out["subscriptionCycleStart"].(float64); !ok {
		t.Error("subscriptionCycleStart is not epoch ms")
	}
}

// Spend's order is cached per roster state: a removed member leaves it.
func TestSpendFollowsARosterChange(t *testing.T) {
	_, base := activityTenant(t, Config{Members: 30})
	const ask = `{"sortBy":"amount","sortDirection":"desc","page":1,"pageSize":100}`
	_, _, before := call(t, base, "POST", "/teams/spend", ask)
	top := before["teamMemberSpend"].([]any)[0].(map[string]any)["email"].(string)
	if code, _, out := call(t, base, "POST", "/teams/remove-member", `{"email":"`+top+`"}`); code != 200 {
		t.Fatalf("remove-member: HTTP %d %v", code, out)
	}
	_, _, after := call(t, base, "POST", "/teams/spend", ask)
	if after["totalMembers"] != before["totalMembers"].(float64)-1 {
		t.Errorf("totalMembers %v after a removal, was %v", after["totalMembers"], before["totalMembers"])
	}
	for _, r := range after["teamMemberSpend"].([]any) {
		if r.(map[string]any)["email"] == top {
			t.Errorf("%s still listed after being removed", top)
		}
	}
}

func TestActivityRoutesShareTheTeamRateLimitAndHaveTheirOwnFaults(t *testing.T) {
	// Four requests in one clock minute: the fourth is over a limit of 3. A
	// run that straddles a minute boundary is repeated on a fresh tenant.
	for try := 0; ; try++ {
		_, base := activityTenant(t, Config{RateLimitPerMinute: 3})
		began := time.Now().Truncate(time.Minute)
		var codes []int
		var retryAfter string
		for _, path := range []string{"/teams/members", "/teams/audit-logs", "/teams/audit-logs", "/teams/members"} {
			code, h, _ := call(t, base, "GET", path, "")
			codes, retryAfter = append(codes, code), h.Get("Retry-After")
		}
		if !time.Now().Truncate(time.Minute).Equal(began) && try < 2 {
			continue
		}
		if fmt.Sprint(codes) != "[200 200 200 429]" || retryAfter == "" {
			t.Errorf("codes %v (Retry-After %q), want [200 200 200 429] with a Retry-After", codes, retryAfter)
		}
		break
	}

	_, base := activityTenant(t, Config{ActivityFaults: ActivityFaults{Forbidden: true}})
	if code, _, _ := call(t, base, "GET", "/teams/audit-logs", ""); code != 403 {
		t.Errorf("Forbidden: audit logs HTTP %d", code)
	}
	if code, _, _ := call(t, base, "GET", "/teams/members", ""); code != 200 {
		t.Errorf("Forbidden must leave the roster alone: HTTP %d", code)
	}
}

func TestUsageRowsEncodeAsEncodingJSONWould(t *testing.T) {
	m, e := "m", ".go"
	for _, r := range []wireUsageRow{
		{UserID: 7, Day: "2026-01-02", Date: 1767312000000, Email: "a@b.example", IsActive: &trueBool, TotalLinesAdded: 3, MostUsedModel: &m, TabMostUsedExtension: &e},
		{UserID: 8, Day: "2026-01-03", Date: 1767398400000, IsActive: &falseBool},
		{UserID: 9, Day: "2026-01-04", Date: 1767484800000, Email: `q"uote@x.example`},
	} {
		want, _ := json.Marshal(r)
		if got := appendUsageRow(nil, &r); string(got) != string(want) {
			t.Errorf("hand-encoded row\n%s\nencoding/json\n%s", got, want)
		}
	}
}

// The users filter (docs/cursor-api.md §2.4) keeps the events of the users named,
// in any case, up to pageSize of them; and some members' only activity in the
// last 30 days is a login 29 days ago (issue 15.2).
func TestAuditLogsUsersFilterAndLoginOnlyMembers(t *testing.T) {
	tenant, base := activityTenant(t, Config{Members: 400, Seed: 5})
	members := tenant.Members()
	var loginOnly []string
	for i, m := range members {
		if tenant.gen.loginOnlyLongAgo(i, m) {
			if days := tenant.ActiveDays(i); len(days) > 0 && days[0] <= 30 {
				t.Errorf("row %d: active %d days ago, want nothing in 30 days", i, days[0])
			}
			loginOnly = append(loginOnly, m.Email)
		}
	}
	if len(loginOnly) < 2 {
		t.Fatalf("%d login-only members of 400, want some", len(loginOnly))
	}
	users := strings.ToUpper(loginOnly[0]) + "," + loginOnly[1]
	code, _, out := call(t, base, "GET", "/teams/audit-logs?startTime=30d&endTime=now&eventTypes=login&pageSize=2&users="+users, "")
	if code != 200 {
		t.Fatalf("HTTP %d %v", code, out)
	}
	events := out["events"].([]any)
	if len(events) != 2 {
		t.Fatalf("%d events for two login-only members, want their two logins: %v", len(events), events)
	}
	named := map[string]bool{strings.ToLower(loginOnly[0]): true, strings.ToLower(loginOnly[1]): true}
	day := tenant.ActivityToday().AddDate(0, 0, -29)
	for _, e := range events {
		e := e.(map[string]any)
		at, _ := time.Parse(time.RFC3339, e["timestamp"].(string))
		if !named[strings.ToLower(fmt.Sprint(e["user_email"]))] || at.Before(day) || !at.Before(day.AddDate(0, 0, 1)) {
			t.Errorf("event %v: want a login of the two named members 29 days ago", e)
		}
	}
	if code, _, _ := call(t, base, "GET", "/teams/audit-logs?pageSize=1&users="+users, ""); code != 400 {
		t.Errorf("two users with pageSize 1: HTTP %d, want 400 (at most pageSize users)", code)
	}
}
