package simulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const (
	testSCIMToken = "scim_0123456789abcdef-test-token"
	schemaUser    = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaError   = "urn:ietf:params:scim:api:messages:2.0:Error"
	schemaList    = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func newSCIMTenant(t testing.TB, cfg Config) (*Tenant, *httptest.Server) {
	t.Helper()
	if cfg.SCIMToken == "" {
		cfg.SCIMToken = testSCIMToken
	}
	return newServer(t, cfg)
}

// scimCall sends a raw SCIM request with "Authorization: Bearer <token>"
// (none when token is "").
func scimCall(t testing.TB, srv *httptest.Server, method, path, token, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	return do(t, srv, req)
}

func scimGet(t testing.TB, srv *httptest.Server, path string) response {
	t.Helper()
	return scimCall(t, srv, http.MethodGet, path, testSCIMToken, "")
}

type scimResource struct {
	Schemas    []string `json:"schemas"`
	ID         string   `json:"id"`
	ExternalID string   `json:"externalId"`
	UserName   string   `json:"userName"`
	Active     *bool    `json:"active"`
	Name       struct {
		GivenName  string `json:"givenName"`
		FamilyName string `json:"familyName"`
	} `json:"name"`
	Emails []struct {
		Value   string `json:"value"`
		Primary bool   `json:"primary"`
	} `json:"emails"`
	Meta struct {
		ResourceType string `json:"resourceType"`
		Location     string `json:"location"`
	} `json:"meta"`
}

type scimList struct {
	Schemas      []string       `json:"schemas"`
	TotalResults int            `json:"totalResults"`
	ItemsPerPage int            `json:"itemsPerPage"`
	StartIndex   int            `json:"startIndex"`
	Resources    []scimResource `json:"Resources"`
}

func decodeSCIM(t testing.TB, r response, status int, v any) {
	t.Helper()
	if r.err != nil || r.status != status {
		t.Fatalf("got %d %s (read error %v), want %d", r.status, r.body, r.err, status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/scim+json" {
		t.Fatalf("Content-Type %q, want application/scim+json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func decodeList(t testing.TB, r response) scimList {
	t.Helper()
	var l scimList
	decodeSCIM(t, r, 200, &l)
	// encoding/json matches keys case-insensitively; the RFC spellings are exact.
	for _, k := range []string{`"Resources":`, `"totalResults":`, `"itemsPerPage":`, `"startIndex":`} {
		if !strings.Contains(string(r.body), k) {
			t.Fatalf("list response lacks %s: %.300s", k, r.body)
		}
	}
	if !reflect.DeepEqual(l.Schemas, []string{schemaList}) {
		t.Fatalf("list schemas %v", l.Schemas)
	}
	return l
}

func expectSCIMError(t testing.TB, r response, status int, scimType string) {
	t.Helper()
	var e struct {
		Schemas  []string `json:"schemas"`
		ScimType string   `json:"scimType"`
		Detail   string   `json:"detail"`
		Status   string   `json:"status"`
	}
	decodeSCIM(t, r, status, &e)
	if !reflect.DeepEqual(e.Schemas, []string{schemaError}) || e.Status != itoa(status) || e.ScimType != scimType {
		t.Fatalf("error body %s, want status %q scimType %q", r.body, itoa(status), scimType)
	}
}

func filterPath(userName string) string {
	return "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "`+userName+`"`)
}

// scimUserOf returns the SCIM user of row's email, failing unless there is exactly one.
func scimUserOf(t testing.TB, tenant *Tenant, row int) SCIMUser {
	t.Helper()
	email := tenant.Members()[row].Email
	var found []SCIMUser
	for _, u := range tenant.SCIMUsers() {
		if strings.EqualFold(u.UserName, email) {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		t.Fatalf("row %d (%s): %d SCIM users", row, email, len(found))
	}
	return found[0]
}

func memberByEmail(t testing.TB, srv *httptest.Server, email string) (wireMember, int) {
	t.Helper()
	var got wireMember
	n := 0
	for _, m := range decodeMembers(t, get(t, srv, pathMembers, testKey).body) {
		if strings.EqualFold(m.Email, email) {
			got = m
			n++
		}
	}
	return got, n
}

func TestSCIMOffIs404(t *testing.T) {
	_, srv := newServer(t, Config{Members: 30})
	for _, p := range []string{"/scim/v2/Users", "/scim/v2/ServiceProviderConfig", "/scim/v2"} {
		expect(t, scimCall(t, srv, http.MethodGet, p, testSCIMToken, ""), 404, want404)
	}
}

func TestSCIMAuthSeparation(t *testing.T) {
	_, srv := newSCIMTenant(t, Config{Members: 30})
	basic := func(user string) string {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(user, "")
		return r.Header.Get("Authorization")
	}
	call := func(path, auth string) response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return do(t, srv, req)
	}
	if r := call("/scim/v2/Users", "Bearer "+testSCIMToken); r.status != 200 {
		t.Fatalf("SCIM with the SCIM token: %d %s", r.status, r.body)
	}
	for name, auth := range map[string]string{
		"API key as bearer": "Bearer " + testKey,
		"API key as basic":  basic(testKey),
		"token as basic":    basic(testSCIMToken),
		"no header":         "",
		"wrong token":       "Bearer scim_wrong",
		"token prefix":      "Bearer " + testSCIMToken[:10],
	} {
		t.Run("SCIM/"+name, func(t *testing.T) {
			r := call("/scim/v2/Users", auth)
			expectSCIMError(t, r, 401, "")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	for name, auth := range map[string]string{
		"SCIM token as bearer": "Bearer " + testSCIMToken,
		"SCIM token as basic":  basic(testSCIMToken),
	} {
		t.Run("Admin/"+name, func(t *testing.T) {
			expect(t, call(pathMembers, auth), 401, want401)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+pathRemoveMember, strings.NewReader(`{"email":"x@y.example"}`))
			req.Header.Set("Authorization", auth)
			expect(t, do(t, srv, req), 401, want401)
		})
	}
	if r := call(pathMembers, basic(testKey)); r.status != 200 {
		t.Fatalf("Admin API with the key: %d", r.status)
	}
	if _, err := New(Config{APIKey: "same", SCIMToken: "same"}); err == nil || !strings.Contains(err.Error(), "SCIMToken must differ") {
		t.Fatalf("New accepted SCIMToken == APIKey: %v", err)
	}
}

func TestSCIMFilterUserName(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 40, Seed: 11})
	email := tenant.Members()[RowSCIMActive].Email
	want := scimUserOf(t, tenant, RowSCIMActive)
	if email != strings.ToLower(email) {
		t.Fatalf("row %d email %q is not lower case; the case test below needs that", RowSCIMActive, email)
	}
	for _, q := range []string{
		filterPath(email),
		filterPath(strings.ToUpper(email)),
		"/scim/v2/Users?filter=" + url.QueryEscape(`USERNAME EQ "`+strings.ToUpper(email[:1])+email[1:]+`"`),
	} {
		l := decodeList(t, scimGet(t, srv, q))
		if l.TotalResults != 1 || l.ItemsPerPage != 1 || l.StartIndex != 1 || len(l.Resources) != 1 {
			t.Fatalf("%s: total %d, itemsPerPage %d, startIndex %d, %d resources", q, l.TotalResults, l.ItemsPerPage, l.StartIndex, len(l.Resources))
		}
		u := l.Resources[0]
		if u.ID != want.ID || u.UserName != email || u.Active == nil || !*u.Active ||
			u.Name.GivenName != want.GivenName || u.Name.FamilyName != want.FamilyName ||
			len(u.Emails) != 1 || u.Emails[0].Value != email || !u.Emails[0].Primary ||
			!reflect.DeepEqual(u.Schemas, []string{schemaUser}) ||
			u.Meta.ResourceType != "User" || u.Meta.Location != "/scim/v2/Users/"+want.ID {
			t.Fatalf("%s: resource %+v, want %+v", q, u, want)
		}
	}
	// The dashboard-only member has no SCIM user.
	l := decodeList(t, scimGet(t, srv, filterPath(tenant.Members()[RowDashboardOnly].Email)))
	if l.TotalResults != 0 || l.ItemsPerPage != 0 || l.Resources == nil || len(l.Resources) != 0 {
		t.Fatalf("dashboard-only member: %+v", l)
	}
	expectSCIMError(t, scimGet(t, srv, "/scim/v2/Users?filter="+url.QueryEscape(`userName eq`)), 400, "invalidFilter")
}

func TestSCIMPaging(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 498, Seed: 2})
	all := tenant.SCIMUsers()
	if len(all) != 250 {
		t.Fatalf("%d SCIM users, want 250", len(all))
	}
	var ids []string
	for i, want := range []struct{ start, items int }{{1, 100}, {101, 100}, {201, 50}} {
		l := decodeList(t, scimGet(t, srv, "/scim/v2/Users?count=100&startIndex="+itoa(want.start)))
		if l.TotalResults != 250 || l.StartIndex != want.start || l.ItemsPerPage != want.items || len(l.Resources) != want.items {
			t.Fatalf("page %d: total %d, startIndex %d, itemsPerPage %d, %d resources; want 250, %d, %d",
				i, l.TotalResults, l.StartIndex, l.ItemsPerPage, len(l.Resources), want.start, want.items)
		}
		for _, u := range l.Resources {
			ids = append(ids, u.ID)
		}
	}
	for i, u := range all {
		if ids[i] != u.ID {
			t.Fatalf("item %d: id %s, SCIMUsers() has %s", i, ids[i], u.ID)
		}
	}
	for _, q := range []string{"?count=500", "?count=101", ""} {
		l := decodeList(t, scimGet(t, srv, "/scim/v2/Users"+q))
		if l.ItemsPerPage != 100 || len(l.Resources) != 100 || l.TotalResults != 250 {
			t.Fatalf("%q: itemsPerPage %d, %d resources, total %d; want the cap of 100", q, l.ItemsPerPage, len(l.Resources), l.TotalResults)
		}
	}
	l := decodeList(t, scimGet(t, srv, "/scim/v2/Users?startIndex=251"))
	if l.ItemsPerPage != 0 || len(l.Resources) != 0 || l.TotalResults != 250 {
		t.Fatalf("past the end: %+v", l)
	}
	l = decodeList(t, scimGet(t, srv, "/scim/v2/Users?count=0"))
	if l.ItemsPerPage != 0 || len(l.Resources) != 0 || l.TotalResults != 250 {
		t.Fatalf("count=0: %+v", l)
	}
}

func createBody(userName string, active bool) string {
	b, _ := json.Marshal(map[string]any{
		"schemas":    []string{schemaUser},
		"userName":   userName,
		"name":       map[string]string{"givenName": "New", "familyName": "Person"},
		"emails":     []map[string]any{{"value": userName, "primary": true, "type": "work"}},
		"active":     active,
		"externalId": "00u1abcd",
	})
	return string(b)
}

func scimCreate(t testing.TB, srv *httptest.Server, userName string, active bool) scimResource {
	t.Helper()
	r := scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, createBody(userName, active))
	var u scimResource
	decodeSCIM(t, r, 201, &u)
	if !uuidRE.MatchString(u.ID) || u.UserName != userName || u.Active == nil || *u.Active != active ||
		u.ExternalID != "00u1abcd" || u.Name.GivenName != "New" || r.header.Get("Location") != "/scim/v2/Users/"+u.ID {
		t.Fatalf("created %+v, Location %q", u, r.header.Get("Location"))
	}
	return u
}

func TestSCIMCreateThenFirstLogin(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 30, Seed: 4})
	before := len(tenant.Members())
	const email = "New.Person@Acme.example"
	u := scimCreate(t, srv, email, true)

	if _, n := memberByEmail(t, srv, email); n != 0 || len(tenant.Members()) != before {
		t.Fatal("SCIM create added a team member before the first login")
	}
	var got scimResource
	decodeSCIM(t, scimGet(t, srv, "/scim/v2/Users/"+u.ID), 200, &got)
	if got.ID != u.ID || got.UserName != email {
		t.Fatalf("GET by id: %+v", got)
	}

	// The control endpoint, with the userName in another case.
	r := scimCall(t, srv, http.MethodPost, pathFirstLogin+"?userName="+url.QueryEscape(strings.ToLower(email)), "", "")
	if r.status != 200 {
		t.Fatalf("first-login: %d %s", r.status, r.body)
	}
	m, n := memberByEmail(t, srv, email)
	if n != 1 || m.Email != email || m.Role != "member" || m.IsRemoved || m.Name != "New Person" {
		t.Fatalf("after first login: %d rows, %+v", n, m)
	}
	if id, ok := m.ID.(string); !ok || !stringID.MatchString(id) {
		t.Fatalf("new member id %#v is not a user_… string", m.ID)
	}
	// A second login changes nothing.
	if err := tenant.FirstLogin(email); err != nil || len(tenant.Members()) != before+1 {
		t.Fatalf("second login: %v, %d rows", err, len(tenant.Members()))
	}

	// The Go method.
	const other = "other.person@globex.example"
	scimCreate(t, srv, other, true)
	if err := tenant.FirstLogin(other); err != nil {
		t.Fatal(err)
	}
	if _, n := memberByEmail(t, srv, other); n != 1 {
		t.Fatalf("FirstLogin: %d rows for %s", n, other)
	}

	// "active" defaults to true.
	r = scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, `{"schemas":["`+schemaUser+`"],"userName":"noactive@acme.example"}`)
	var na scimResource
	decodeSCIM(t, r, 201, &na)
	if na.Active == nil || !*na.Active || tenant.FirstLogin("noactive@acme.example") != nil {
		t.Fatalf("create without active: %s", r.body)
	}

	// Unknown and inactive users.
	if err := tenant.FirstLogin("nobody@acme.example"); !errors.Is(err, errNoSCIMUser) {
		t.Fatalf("FirstLogin(unknown) = %v", err)
	}
	if r := scimCall(t, srv, http.MethodPost, pathFirstLogin+"?userName=nobody@acme.example", "", ""); r.status != 404 {
		t.Fatalf("first-login of an unknown user: %d %s", r.status, r.body)
	}
	scimCreate(t, srv, "off@acme.example", false)
	if err := tenant.FirstLogin("off@acme.example"); !errors.Is(err, errSCIMUserInactive) {
		t.Fatalf("FirstLogin(inactive) = %v", err)
	}
	if r := scimCall(t, srv, http.MethodGet, pathFirstLogin+"?userName="+email, "", ""); r.status != 405 {
		t.Fatalf("GET first-login: %d", r.status)
	}
	if len(tenant.Members()) != before+3 {
		t.Fatalf("%d rows, want %d", len(tenant.Members()), before+3)
	}
}

func TestSCIMFirstLoginReactivatesRemovedRow(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 300, Seed: 7})
	ms := tenant.Members()
	row := -1
	for i := fixedRows + 1; i < len(ms); i += 2 { // odd rows have no SCIM user
		if ms[i].IsRemoved {
			row = i
			break
		}
	}
	if row < 0 {
		t.Fatal("no removed dashboard-only row in this team")
	}
	scimCreate(t, srv, strings.ToUpper(ms[row].Email), true)
	if err := tenant.FirstLogin(ms[row].Email); err != nil {
		t.Fatal(err)
	}
	after := tenant.Members()
	if len(after) != len(ms) || after[row].IsRemoved || after[row].ID != ms[row].ID || after[row].Email != ms[row].Email {
		t.Fatalf("%d rows (was %d), row %d now %+v", len(after), len(ms), row, after[row])
	}
	if got := decodeMembers(t, get(t, srv, pathMembers, testKey).body); got[row].IsRemoved {
		t.Fatal("/teams/members still shows the row removed")
	}
}

func TestSCIMAutoFirstLogin(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 30, IDStyle: IDStyleNumber, AutoFirstLogin: true})
	maxID := int64(0)
	for _, m := range tenant.Members() {
		maxID = max(maxID, m.ID.(int64))
	}
	scimCreate(t, srv, "auto@acme.example", true)
	m, n := memberByEmail(t, srv, "auto@acme.example")
	if n != 1 || m.Role != "member" || m.IsRemoved {
		t.Fatalf("%d rows, %+v", n, m)
	}
	id, ok := m.ID.(json.Number)
	if v, err := id.Int64(); !ok || err != nil || v <= maxID {
		t.Fatalf("new numeric id %#v, existing ids up to %d", m.ID, maxID)
	}
	// An inactive create does not log in.
	scimCreate(t, srv, "inactive@acme.example", false)
	if _, n := memberByEmail(t, srv, "inactive@acme.example"); n != 0 {
		t.Fatal("an inactive SCIM user became a member")
	}

	// In an empty team the new row is row 0, which the generator makes an owner.
	_, srv = newSCIMTenant(t, Config{AutoFirstLogin: true})
	scimCreate(t, srv, "first@acme.example", true)
	if m, n := memberByEmail(t, srv, "first@acme.example"); n != 1 || m.Role != "member" || m.Name != "New Person" {
		t.Fatalf("empty team: %d rows, %+v", n, m)
	}
}

func TestSCIMCreateDuplicate(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 30, Seed: 9})
	existing := tenant.Members()[RowSCIMActive].Email
	scimCreate(t, srv, "dup@acme.example", true)
	n := len(tenant.SCIMUsers())
	for _, userName := range []string{existing, strings.ToUpper(existing), "dup@acme.example", "DUP@Acme.Example"} {
		r := scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, createBody(userName, true))
		expectSCIMError(t, r, 409, "uniqueness")
	}
	if len(tenant.SCIMUsers()) != n {
		t.Fatal("a refused create added a user")
	}
	// Bodies the library must refuse.
	expectSCIMError(t, scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, `{"schemas":["`+schemaUser+`"]}`), 400, "invalidValue")
	expectSCIMError(t, scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, `{"schemas":["`+schemaUser+`"],"userName":" "}`), 400, "")
	expectSCIMError(t, scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, `{"userName":"x@acme.example"}`), 400, "invalidSyntax")
}

func TestSCIMDelete(t *testing.T) {
	for _, omit := range []bool{false, true} {
		t.Run("OmitRemoved="+map[bool]string{false: "false", true: "true"}[omit], func(t *testing.T) {
			tenant, srv := newSCIMTenant(t, Config{Members: 30, Seed: 3, OmitRemoved: omit})
			u := scimUserOf(t, tenant, RowSCIMActive)
			email := tenant.Members()[RowSCIMActive].Email
			if m, n := memberByEmail(t, srv, email); n != 1 || m.IsRemoved {
				t.Fatal("the member starts removed")
			}
			r := scimCall(t, srv, http.MethodDelete, "/scim/v2/Users/"+u.ID, testSCIMToken, "")
			if r.status != 204 || len(r.body) != 0 {
				t.Fatalf("DELETE: %d %s", r.status, r.body)
			}
			m, n := memberByEmail(t, srv, email)
			if omit && n != 0 || !omit && (n != 1 || !m.IsRemoved) {
				t.Fatalf("after DELETE: %d rows, %+v", n, m)
			}
			if !tenant.Members()[RowSCIMActive].IsRemoved {
				t.Fatal("Members() does not show the row removed")
			}
			expectSCIMError(t, scimGet(t, srv, "/scim/v2/Users/"+u.ID), 404, "")
			expectSCIMError(t, scimCall(t, srv, http.MethodDelete, "/scim/v2/Users/"+u.ID, testSCIMToken, ""), 404, "")
			if l := decodeList(t, scimGet(t, srv, filterPath(email))); l.TotalResults != 0 {
				t.Fatalf("the deleted user is still listed: %+v", l)
			}
			for _, v := range tenant.SCIMUsers() {
				if v.ID == u.ID {
					t.Fatal("SCIMUsers() still has the deleted user")
				}
			}
		})
	}
}

func patchBody(ops ...string) string {
	return `{"schemas":["` + schemaPatchOp + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

func TestSCIMPatchActive(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 30, Seed: 8})
	forms := map[string][2]string{
		"path":      {`{"op":"replace","path":"active","value":false}`, `{"op":"replace","path":"active","value":true}`},
		"valueless": {`{"op":"replace","value":{"active":false}}`, `{"op":"Replace","value":{"active":true}}`},
	}
	row := RowSCIMActive
	for name, ops := range forms {
		t.Run(name, func(t *testing.T) {
			u := scimUserOf(t, tenant, row)
			email := tenant.Members()[row].Email
			for i, active := range []bool{false, true} {
				r := scimCall(t, srv, http.MethodPatch, "/scim/v2/Users/"+u.ID, testSCIMToken, patchBody(ops[i]))
				var got scimResource
				decodeSCIM(t, r, 200, &got)
				if got.ID != u.ID || got.Active == nil || *got.Active != active {
					t.Fatalf("PATCH active=%v answered %s", active, r.body)
				}
				if m, n := memberByEmail(t, srv, email); n != 1 || m.IsRemoved == active {
					t.Fatalf("after PATCH active=%v: %d rows, isRemoved %v", active, n, m.IsRemoved)
				}
				if scimUserOf(t, tenant, row).Active != active {
					t.Fatal("SCIMUsers() disagrees")
				}
			}
		})
		row += 2
	}

	// The removed SCIM-managed member comes back with active=true.
	u := scimUserOf(t, tenant, RowSCIMRemoved)
	if u.Active || !tenant.Members()[RowSCIMRemoved].IsRemoved {
		t.Fatal("fixed row is not a removed member with an inactive SCIM user")
	}
	r := scimCall(t, srv, http.MethodPatch, "/scim/v2/Users/"+u.ID, testSCIMToken, patchBody(forms["path"][1]))
	if r.status != 200 || tenant.Members()[RowSCIMRemoved].IsRemoved {
		t.Fatalf("reactivating row %d: %d %s", RowSCIMRemoved, r.status, r.body)
	}

	// active=true does not create a member that never logged in.
	created := scimCreate(t, srv, "pending@acme.example", false)
	n := len(tenant.Members())
	r = scimCall(t, srv, http.MethodPatch, "/scim/v2/Users/"+created.ID, testSCIMToken, patchBody(forms["path"][1]))
	if r.status != 200 || len(tenant.Members()) != n {
		t.Fatalf("activating a user who never logged in: %d, rows %d -> %d", r.status, n, len(tenant.Members()))
	}

	expectSCIMError(t, scimCall(t, srv, http.MethodPatch, "/scim/v2/Users/nope", testSCIMToken, patchBody(forms["path"][0])), 404, "")
	expectSCIMError(t, scimCall(t, srv, http.MethodPatch, "/scim/v2/Users/"+u.ID, testSCIMToken, `{"Operations":[]}`), 400, "invalidValue")
	expectSCIMError(t, scimCall(t, srv, http.MethodPatch, "/scim/v2/Users/"+u.ID, testSCIMToken, patchBody(`{"op":"replace","path":"active","value":"nope"}`)), 400, "invalidValue")
}
