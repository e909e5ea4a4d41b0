// SCIM duplicates, server errors, request counting, discovery and the generated share.

package simulator

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestSCIMDuplicateUserNames(t *testing.T) {
	plain, _ := newSCIMTenant(t, Config{Members: 30, Seed: 6})
	existing := plain.Members()[RowSCIMActive].Email
	const ghost = "ghost.user@globex.example"
	tenant, srv := newSCIMTenant(t, Config{Members: 30, Seed: 6, SCIMDuplicateUserNames: []string{existing, ghost}})
	if got, want := len(tenant.SCIMUsers()), len(plain.SCIMUsers())+3; got != want {
		t.Fatalf("%d SCIM users, want %d", got, want)
	}
	for _, email := range []string{existing, ghost, strings.ToUpper(ghost)} {
		l := decodeList(t, scimGet(t, srv, filterPath(email)))
		if l.TotalResults != 2 || len(l.Resources) != 2 {
			t.Fatalf("%s: %d results", email, l.TotalResults)
		}
		a, b := l.Resources[0], l.Resources[1]
		if a.ID == b.ID || a.UserName == b.UserName || !strings.EqualFold(a.UserName, b.UserName) {
			t.Fatalf("%s: %q/%q and %q/%q", email, a.ID, a.UserName, b.ID, b.UserName)
		}
	}
	expectSCIMError(t, scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, createBody(ghost, true)), 409, "uniqueness")
	if _, err := New(Config{APIKey: "k", SCIMDuplicateUserNames: []string{"1234@5678"}}); err == nil {
		t.Fatal("New accepted a duplicate userName without letters")
	}
}

func TestSCIMServerErrors(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 30, Faults: Faults{SCIMServerErrors: 2, SCIMRetryAfter: "5"}})
	for i := 0; i < 2; i++ {
		r := scimCall(t, srv, http.MethodGet, "/scim/v2/Users", "", "") // before auth, like the Admin API
		expectSCIMError(t, r, 503, "")
		if r.header.Get("Retry-After") != "5" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		if r := get(t, srv, pathMembers, testKey); r.status != 200 {
			t.Fatalf("the Admin API shares the SCIM fault: %d", r.status)
		}
	}
	if r := scimGet(t, srv, "/scim/v2/Users"); r.status != 200 {
		t.Fatalf("after the 503s: %d %s", r.status, r.body)
	}

	tenant.SetFaults(Faults{SCIMServerErrors: -1})
	for i := 0; i < 5; i++ {
		r := scimGet(t, srv, "/scim/v2/Users")
		expectSCIMError(t, r, 503, "")
		if _, ok := r.header["Retry-After"]; ok {
			t.Fatal("Retry-After sent although SCIMRetryAfter is empty")
		}
	}
	tenant.SetFaults(Faults{ServerErrors: -1})
	if r := scimGet(t, srv, "/scim/v2/Users"); r.status != 200 {
		t.Fatalf("Admin API ServerErrors reached SCIM: %d", r.status)
	}
	expect(t, get(t, srv, pathMembers, testKey), 500, want500)
	if _, err := New(Config{APIKey: "k", Faults: Faults{SCIMServerErrors: -2}}); err == nil {
		t.Fatal("New accepted SCIMServerErrors -2")
	}
}

func TestSCIMRequestCounting(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 30, Seed: 1})
	u := scimUserOf(t, tenant, RowSCIMActive)
	if n := tenant.Requests("DELETE /scim/v2/Users"); n != 0 {
		t.Fatalf("DELETE counted before any: %d", n)
	}
	scimGet(t, srv, "/scim/v2/Users")
	scimGet(t, srv, "/scim/v2/Users/"+u.ID)
	scimCall(t, srv, http.MethodGet, "/scim/v2/Users", "", "") // 401
	scimCreate(t, srv, "counted@acme.example", true)
	scimCall(t, srv, http.MethodPatch, "/scim/v2/Users/"+u.ID, testSCIMToken, patchBody(`{"op":"replace","path":"active","value":false}`))
	scimCall(t, srv, http.MethodDelete, "/scim/v2/Users/"+u.ID, testSCIMToken, "")
	scimCall(t, srv, http.MethodDelete, "/scim/v2/Users/"+u.ID, testSCIMToken, "") // 404
	scimGet(t, srv, "/scim/v2/ServiceProviderConfig")
	get(t, srv, pathMembers, testKey)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+pathRemoveMember, strings.NewReader(`{}`))
	req.SetBasicAuth(testKey, "")
	do(t, srv, req)
	scimCall(t, srv, http.MethodPost, pathFirstLogin+"?userName=counted@acme.example", "", "")

	want := map[string]int{
		"GET /scim/v2/Users":                 3,
		"POST /scim/v2/Users":                1,
		"PATCH /scim/v2/Users":               1,
		"DELETE /scim/v2/Users":              2,
		"GET /scim/v2/ServiceProviderConfig": 1,
		pathMembers:                          1,
		pathRemoveMember:                     1,
	}
	for k, n := range want {
		if got := tenant.Requests(k); got != n {
			t.Errorf("Requests(%q) = %d, want %d", k, got, n)
		}
	}
	var counts map[string]int
	if r := get(t, srv, pathRequests, ""); r.status != 200 || json.Unmarshal(r.body, &counts) != nil {
		t.Fatalf("%s: %d %s", pathRequests, r.status, r.body)
	}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("%s = %v\nwant %v", pathRequests, counts, want)
	}
	for path, key := range map[string]string{
		"/scim/v2/Users/abc/def": "GET /scim/v2/Users",
		"/scim/v2":               "GET /scim/v2",
		"/scim/v2/":              "GET /scim/v2",
		"/scim/v2x":              "/scim/v2x",
		"/teams/members":         "/teams/members",
	} {
		if got := requestKey(http.MethodGet, path); got != key {
			t.Errorf("requestKey(GET, %q) = %q, want %q", path, got, key)
		}
	}
}

func TestSCIMDiscovery(t *testing.T) {
	_, srv := newSCIMTenant(t, Config{Members: 3})
	var spc struct {
		Patch  struct{ Supported bool } `json:"patch"`
		Filter struct {
			Supported  bool `json:"supported"`
			MaxResults int  `json:"maxResults"`
		} `json:"filter"`
		AuthenticationSchemes []struct{ Type string } `json:"authenticationSchemes"`
	}
	decodeSCIM(t, scimGet(t, srv, "/scim/v2/ServiceProviderConfig"), 200, &spc)
	if !spc.Patch.Supported || !spc.Filter.Supported || spc.Filter.MaxResults != 100 ||
		len(spc.AuthenticationSchemes) != 1 || spc.AuthenticationSchemes[0].Type != "oauthbearertoken" {
		t.Fatalf("ServiceProviderConfig %+v", spc)
	}
	r := scimGet(t, srv, "/scim/v2/Schemas")
	if r.status != 200 || !strings.Contains(string(r.body), schemaUser) {
		t.Fatalf("Schemas: %d %.200s", r.status, r.body)
	}
	r = scimGet(t, srv, "/scim/v2/ResourceTypes")
	if r.status != 200 || !strings.Contains(string(r.body), `"endpoint":"/Users"`) {
		t.Fatalf("ResourceTypes: %d %.200s", r.status, r.body)
	}
	expectSCIMError(t, scimCall(t, srv, http.MethodGet, "/scim/v2/Schemas", "", ""), 401, "")
	expectSCIMError(t, scimGet(t, srv, "/scim/v2/Groups"), 404, "")
}

func TestSCIMGeneratedShare(t *testing.T) {
	const n = 40
	a, _ := newSCIMTenant(t, Config{Members: n, Seed: 5})
	b, _ := newServer(t, Config{Members: n, Seed: 5}) // SCIM off: the directory still exists
	c, _ := newServer(t, Config{Members: n, Seed: 6})
	if a.scim != nil {
		t.Fatal("New built the SCIM directory; it should be built on first use")
	}
	// Changing the roster first must not change the directory.
	b.update(func(ms []Member) []Member { ms[RowSCIMActive].IsRemoved = true; return ms })
	users := a.SCIMUsers()
	if !reflect.DeepEqual(users, b.SCIMUsers()) {
		t.Fatal("same seed, different SCIM users")
	}
	ms := a.Members()
	byName := map[string]SCIMUser{}
	for _, u := range users {
		if !uuidRE.MatchString(u.ID) {
			t.Fatalf("id %q is not a UUID", u.ID)
		}
		byName[strings.ToLower(u.UserName)] = u
	}
	managed := 0
	for i, m := range ms {
		u, ok := byName[strings.ToLower(m.Email)]
		if want := i%2 == 0 || i == 17; ok != want {
			t.Fatalf("row %d: SCIM-managed %v, want %v", i, ok, want)
		}
		if ok {
			managed++
			given, family, _ := strings.Cut(m.Name, " ")
			if u.UserName != m.Email || u.Active == m.IsRemoved || u.GivenName != given || u.FamilyName != family {
				t.Fatalf("row %d %+v: SCIM user %+v", i, m, u)
			}
		}
	}
	if managed != len(users) || managed != n/2+1 {
		t.Fatalf("%d SCIM-managed rows, %d SCIM users", managed, len(users))
	}
	if m, u := ms[RowSCIMActive], byName[strings.ToLower(ms[RowSCIMActive].Email)]; m.IsRemoved || m.Role != "member" || !u.Active {
		t.Fatalf("RowSCIMActive: %+v, %+v", m, u)
	}
	if m, ok := ms[RowDashboardOnly], byName[strings.ToLower(ms[RowDashboardOnly].Email)].ID != ""; m.IsRemoved || ok {
		t.Fatalf("RowDashboardOnly: %+v, has SCIM user %v", m, ok)
	}
	if m, u := ms[RowSCIMRemoved], byName[strings.ToLower(ms[RowSCIMRemoved].Email)]; !m.IsRemoved || u.ID == "" || u.Active {
		t.Fatalf("RowSCIMRemoved: %+v, %+v", m, u)
	}
	other := c.SCIMUsers()
	if len(other) != len(users) || other[0].ID == users[0].ID {
		t.Fatal("a different seed gave the same ids")
	}
}
