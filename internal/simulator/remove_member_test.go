package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	wantNeither   = `{"error":"Either userId or email must be provided"}`
	wantBoth      = `{"error":"Only one of userId or email should be provided, not both"}`
	wantNotMember = `{"error":"User is not a member of this team"}`
	wantLastAdmin = `{"error":"At least one admin (owner or free-owner) must remain on the team after removal"}`
	wantLastPaid  = `{"error":"At least one paid member must remain on the team after removal"}`
)

func removeMember(t testing.TB, srv *httptest.Server, key, body string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+pathRemoveMember, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	return do(t, srv, req)
}

func removeBody(field, value string) string {
	b, _ := json.Marshal(map[string]string{field: value})
	return string(b)
}

// expectRemoved checks a success body for id and returns hasBillingCycleUsage.
func expectRemoved(t testing.TB, r response, id string) bool {
	t.Helper()
	for _, usage := range []bool{true, false} {
		if string(r.body) == fmt.Sprintf(`{"success":true,"userId":%q,"hasBillingCycleUsage":%v}`, id, usage) {
			expect(t, r, 200, string(r.body))
			return usage
		}
	}
	t.Fatalf("got %d %s, want 200 success for %s", r.status, r.body, id)
	return false
}

func TestRemoveMemberByEmail(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 30, Seed: 12})
	m := tenant.Members()[RowDashboardOnly]
	r := removeMember(t, srv, testKey, removeBody("email", strings.ToUpper(m.Email)))
	expectRemoved(t, r, m.ID.(string))
	rows := decodeMembers(t, get(t, srv, pathMembers, testKey).body)
	if len(rows) != 30 || !rows[RowDashboardOnly].IsRemoved || rows[RowDashboardOnly].Email != m.Email {
		t.Fatalf("/teams/members after removal: %d rows, row %+v", len(rows), rows[RowDashboardOnly])
	}
	for i, row := range rows {
		if i != RowDashboardOnly && row.IsRemoved != tenant.Members()[i].IsRemoved {
			t.Fatalf("row %d changed too", i)
		}
	}
	// Removed now, so no longer a member.
	expect(t, removeMember(t, srv, testKey, removeBody("email", m.Email)), 400, wantNotMember)

	_, omit := newServer(t, Config{Members: 30, Seed: 12, OmitRemoved: true})
	expectRemoved(t, removeMember(t, omit, testKey, removeBody("email", m.Email)), m.ID.(string))
	if _, n := memberByEmail(t, omit, m.Email); n != 0 {
		t.Fatal("OmitRemoved: the removed member is still listed")
	}
}

func TestRemoveMemberByUserID(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 30, Seed: 12})
	m := tenant.Members()[5]
	expect(t, removeMember(t, srv, testKey, removeBody("userId", strings.ToLower(m.ID.(string)))), 400, wantNotMember)
	expectRemoved(t, removeMember(t, srv, testKey, removeBody("userId", m.ID.(string))), m.ID.(string))
	if !tenant.Members()[5].IsRemoved {
		t.Fatal("row 5 not removed")
	}

	// Numeric ids, sent as a string or as a number.
	tenant, srv = newServer(t, Config{Members: 30, Seed: 12, IDStyle: IDStyleNumber})
	for _, row := range []int{5, 6} {
		id := tenant.Members()[row].ID.(int64)
		body := fmt.Sprintf(`{"userId":%d}`, id)
		if row == 6 {
			body = fmt.Sprintf(`{"userId":"%d"}`, id)
		}
		expectRemoved(t, removeMember(t, srv, testKey, body), fmt.Sprint(id))
		if !tenant.Members()[row].IsRemoved {
			t.Fatalf("row %d not removed", row)
		}
	}
}

func TestRemoveMemberNotAMember(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 30, Seed: 12})
	ms := tenant.Members()
	for _, body := range []string{
		removeBody("email", "stranger@acme.example"),
		removeBody("email", ms[RowSCIMRemoved].Email), // removed already
		removeBody("userId", ms[RowSCIMRemoved].ID.(string)),
		removeBody("userId", "user_doesnotexist"),
	} {
		expect(t, removeMember(t, srv, testKey, body), 400, wantNotMember)
	}
}

func TestRemoveMemberKeepsAnAdminAndAPaidMember(t *testing.T) {
	// Rows 0 owner, 1 member, 2 free-owner.
	tenant, srv := newServer(t, Config{Members: 3, Seed: 1})
	ms := tenant.Members()
	if ms[0].Role != "owner" || ms[1].Role != "member" || ms[2].Role != "free-owner" {
		t.Fatalf("roles %s %s %s", ms[0].Role, ms[1].Role, ms[2].Role)
	}
	// The owner can go: the free-owner stays admin, the member stays paid.
	expectRemoved(t, removeMember(t, srv, testKey, removeBody("email", ms[0].Email)), ms[0].ID.(string))
	expect(t, removeMember(t, srv, testKey, removeBody("email", ms[2].Email)), 400, wantLastAdmin)
	expect(t, removeMember(t, srv, testKey, removeBody("email", ms[1].Email)), 400, wantLastPaid)
	for i, m := range tenant.Members() {
		if m.IsRemoved != (i == 0) {
			t.Fatalf("row %d removed=%v after refused removals", i, m.IsRemoved)
		}
	}

	// The last owner is both the last admin and the last paid member.
	tenant, srv = newServer(t, Config{Members: 1})
	expect(t, removeMember(t, srv, testKey, removeBody("email", tenant.Members()[0].Email)), 400, wantLastAdmin)
	tenant.update(func(ms []Member) []Member {
		return append(ms, Member{ID: "user_x", Email: "free@acme.example", Role: "free-owner"})
	})
	expect(t, removeMember(t, srv, testKey, removeBody("email", tenant.Members()[0].Email)), 400, wantLastPaid)
}

func TestRemoveMemberBadBodies(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 30})
	m := tenant.Members()[RowDashboardOnly]
	for body, want := range map[string]string{
		`{}`:             wantNeither,
		`{"userId":""}`:  wantNeither,
		`{"email":null}`: wantNeither,
		`{"userId":"` + m.ID.(string) + `","email":"` + m.Email + `"}`: wantBoth,
		`not json`:            `{"error":"Request body must be a JSON object"}`,
		`{"email":["a@b.c"]}`: `{"error":"Request body must be a JSON object"}`,
	} {
		expect(t, removeMember(t, srv, testKey, body), 400, want)
	}
	if tenant.Members()[RowDashboardOnly].IsRemoved {
		t.Fatal("a refused request removed the member")
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+pathRemoveMember, nil)
	req.SetBasicAuth(testKey, "")
	r := do(t, srv, req)
	expect(t, r, 405, `{"error":"Method Not Allowed","message":"Method not allowed"}`)
	if r.header.Get("Allow") != http.MethodPost {
		t.Fatalf("Allow = %q", r.header.Get("Allow"))
	}
}

func TestRemoveMemberPlanAuthAndFaults(t *testing.T) {
	tenant, srv := newServer(t, Config{Members: 30, BusinessPlan: true})
	body := removeBody("email", tenant.Members()[RowDashboardOnly].Email)
	expect(t, removeMember(t, srv, testKey, body), 403, want403)
	expect(t, removeMember(t, srv, "crsr_wrong", body), 401, want401)
	expect(t, removeMember(t, srv, "", body), 401, want401)

	// One fault counter for the whole Admin API.
	tenant, srv = newServer(t, Config{Members: 30, Faults: Faults{RateLimited: 1, ServerErrors: 1, RetryAfter: "60"}})
	body = removeBody("email", tenant.Members()[RowDashboardOnly].Email)
	r := removeMember(t, srv, testKey, body)
	expect(t, r, 429, want429)
	if r.header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if r := get(t, srv, pathMembers, testKey); r.status != 503 {
		t.Fatalf("GET after remove-member used the 429: %d, want the 503", r.status)
	}
	if tenant.Members()[RowDashboardOnly].IsRemoved {
		t.Fatal("removed despite the 429")
	}
	expectRemoved(t, removeMember(t, srv, testKey, body), tenant.Members()[RowDashboardOnly].ID.(string))
	tenant.SetFaults(Faults{ServerErrors: -1})
	expect(t, removeMember(t, srv, testKey, removeBody("email", tenant.Members()[5].Email)), 500, want500)
	if n := tenant.Requests(pathRemoveMember); n != 3 {
		t.Fatalf("Requests(%s) = %d, want 3", pathRemoveMember, n)
	}
}

func TestRemoveMemberBillingUsageIsDeterministic(t *testing.T) {
	a, srvA := newServer(t, Config{Members: 60, Seed: 21})
	_, srvB := newServer(t, Config{Members: 60, Seed: 21})
	seen := map[bool]int{}
	for i := 20; i < 60; i++ {
		m := a.Members()[i]
		if m.IsRemoved || m.Role != "member" {
			continue
		}
		body := removeBody("email", m.Email)
		ua := expectRemoved(t, removeMember(t, srvA, testKey, body), m.ID.(string))
		ub := expectRemoved(t, removeMember(t, srvB, testKey, body), m.ID.(string))
		if ua != ub {
			t.Fatalf("row %d: hasBillingCycleUsage %v and %v for the same seed", i, ua, ub)
		}
		seen[ua]++
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Fatalf("hasBillingCycleUsage never varies: %v", seen)
	}
}
