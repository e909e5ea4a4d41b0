package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func orgTenant(t *testing.T, org OrgConfig) (*Tenant, string) {
	t.Helper()
	org.APIKey = "org-key"
	tenant, err := New(Config{Members: 5, Seed: 3, APIKey: "team-key", Org: org})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return tenant, srv.URL
}

func orgCall(t *testing.T, method, url, key, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, url, raw)
	}
	return resp.StatusCode, resp.Header, out
}

func TestOrgSeedHoldsWhatTheConnectorMustMap(t *testing.T) {
	tenant, _ := orgTenant(t, OrgConfig{People: 100_000})
	people := tenant.OrgPeople()
	owners, twoTeams, admins := map[int64]bool{}, 0, 0
	for _, p := range people {
		for team, role := range p.Teams {
			owners[team] = owners[team] || role == "owner"
		}
		if len(p.Teams) == 2 {
			twoTeams++
		}
		if p.OrgRole == "admin" {
			admins++
		}
	}
	if len(people) != 100_000 || len(owners) != 4 || twoTeams == 0 || admins < 2 || len(people[idxOrgNoTeam].Teams) != 0 {
		t.Errorf("people %d, teams %d, on two teams %d, admins %d, admin with no team has %v", len(people), len(owners), twoTeams, admins, people[idxOrgNoTeam].Teams)
	}
	for team, has := range owners {
		if !has {
			t.Errorf("team %d has no owner", team)
		}
	}
	inBilling := map[string]string{}
	for _, g := range []string{"group_1", "group_2", "group_3"} {
		for _, e := range tenant.OrgGroupMembers(g) {
			if was, dup := inBilling[e]; dup {
				t.Fatalf("%s in billing groups %s and %s", e, was, g)
			}
			inBilling[e] = g
		}
	}
}

func TestOrgRoutesRefuseTheOtherKindOfKey(t *testing.T) {
	_, base := orgTenant(t, OrgConfig{People: 10})
	if code, _, body := orgCall(t, "GET", base+"/organizations/members", "team-key", ""); code != 401 || body["code"] != "error" {
		t.Errorf("team key on /organizations/members: %d %v", code, body)
	}
	for _, path := range []string{"/teams/members", "/teams/groups", "/teams/directory-groups"} {
		if code, _, _ := orgCall(t, "GET", base+path, "org-key", ""); code != 401 {
			t.Errorf("org key on %s: %d, want 401", path, code)
		}
	}
}

func TestOrgRateLimitPerKeyWithRetryAfter(t *testing.T) {
	tenant, base := orgTenant(t, OrgConfig{People: 10, RateLimit: 2, RateWindow: time.Hour})
	for i := range 2 {
		if code, _, _ := orgCall(t, "GET", base+"/organizations/groups", "org-key", ""); code != 200 {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	code, h, _ := orgCall(t, "GET", base+"/organizations/groups", "org-key", "")
	if code != 429 || h.Get("Retry-After") == "" || tenant.OrgRateLimited() != 1 {
		t.Errorf("third request in the window: %d, Retry-After %q", code, h.Get("Retry-After"))
	}
	if code, _, _ := orgCall(t, "GET", base+"/organizations/groups", "another-key", ""); code != 401 {
		t.Errorf("another key has its own window: got %d, want 401 (not 429)", code)
	}
}

func TestOrgMembersFiltersAndPageCap(t *testing.T) {
	_, base := orgTenant(t, OrgConfig{People: 1000})
	_, _, body := orgCall(t, "GET", base+"/organizations/members?pageSize=500", "org-key", "")
	if p := body["pagination"].(map[string]any); p["pageSize"] != 200.0 || len(body["members"].([]any)) != 200 || p["totalPages"] != 5.0 {
		t.Errorf("pageSize 500 not clamped to 200: %v", p)
	}
	_, _, body = orgCall(t, "GET", base+"/organizations/members?organizationRole=admin&teamId=101", "org-key", "")
	for _, m := range body["members"].([]any) {
		if m.(map[string]any)["organizationRole"] != "admin" {
			t.Errorf("role filter let through %v", m)
		}
	}
	if code, _, _ := orgCall(t, "GET", base+"/organizations/members?email="+strings.Repeat("a@b.c,", 101), "org-key", ""); code != 400 {
		t.Errorf("101 emails: %d, want 400", code)
	}
}

func TestOrgWritesRefusedWhereCursorRefuses(t *testing.T) {
	tenant, base := orgTenant(t, OrgConfig{People: 50})
	id := tenant.OrgPeople()[0].PublicID
	code, _, body := orgCall(t, "POST", base+"/organizations/groups/g_4/members/bulk-add", "org-key", `{"userIds":["`+id+`"]}`)
	if code != 403 || body["code"] != "error" || !strings.Contains(body["message"].(string), "identity provider") {
		t.Errorf("bulk-add to a SCIM-synced group: %d %v", code, body)
	}
	ids := `"` + strings.Repeat(id+`","`, 100) + id + `"`
	if code, _, _ := orgCall(t, "POST", base+"/organizations/groups/g_1/members/bulk-add", "org-key", `{"userIds":[`+ids+`]}`); code != 400 {
		t.Errorf("101 ids: %d, want 400", code)
	}
	_, _, body = orgCall(t, "POST", base+"/organizations/team-memberships/sync", "org-key",
		`{"organizationId":"`+OrgID+`","users":[{"userId":50004,"teamIds":[101,104]},{"userId":50004,"teamIds":[999]}]}`)
	rows := body["results"].([]any)
	if body["errorCount"] != 2.0 || rows[0].(map[string]any)["errorMessage"] != OrgSCIMMessage ||
		rows[1].(map[string]any)["errorMessage"] != "Team is not linked to this organization" {
		t.Errorf("sync rows: %v", body)
	}
	if code, _, _ := orgCall(t, "POST", base+"/organizations/team-memberships/sync", "org-key", `{"organizationId":"org_other","users":[{"userId":1,"teamIds":[101]}]}`); code != 403 {
		t.Errorf("another organization's id: %d, want 403", code)
	}
}
