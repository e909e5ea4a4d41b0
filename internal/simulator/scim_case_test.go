package simulator

import (
	"net/http"
	"strings"
	"testing"
)

// With SCIMCaseSensitiveUserName the directory behaves like the servers of
// docs/cursor-api.md §4.7: a search finds only the exact spelling, and a create
// in another case is a second user; without it, case is ignored.
func TestSCIMCaseSensitiveUserName(t *testing.T) {
	tenant, srv := newSCIMTenant(t, Config{Members: 20, Seed: 5, SCIMCaseSensitiveUserName: true})
	held := scimCreate(t, srv, "Pending.Case@acme.example", true)

	if l := decodeList(t, scimGet(t, srv, filterPath("pending.case@acme.example"))); l.TotalResults != 0 {
		t.Errorf("search in another case found %d users, want 0 (case-sensitive)", l.TotalResults)
	}
	if l := decodeList(t, scimGet(t, srv, filterPath("Pending.Case@acme.example"))); l.TotalResults != 1 || l.Resources[0].ID != held.ID {
		t.Errorf("search in the stored case: %+v, want the one user %s", l, held.ID)
	}
	second := scimCreate(t, srv, "pending.case@acme.example", true)
	if second.ID == held.ID {
		t.Fatal("the create in another case returned the existing user")
	}
	r := scimCall(t, srv, http.MethodPost, "/scim/v2/Users", testSCIMToken, createBody("Pending.Case@acme.example", true))
	expectSCIMError(t, r, 409, "uniqueness")
	n := 0
	for _, u := range tenant.SCIMUsers() {
		if strings.EqualFold(u.UserName, "pending.case@acme.example") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d SCIM users for pending.case@acme.example in some case, want 2", n)
	}

	// The default folds case, as RFC 7643 says.
	_, folding := newSCIMTenant(t, Config{Members: 20, Seed: 5})
	scimCreate(t, folding, "Pending.Case@acme.example", true)
	if l := decodeList(t, scimGet(t, folding, filterPath("pending.case@acme.example"))); l.TotalResults != 1 {
		t.Errorf("default: search in another case found %d users, want 1", l.TotalResults)
	}
	expectSCIMError(t, scimCall(t, folding, http.MethodPost, "/scim/v2/Users", testSCIMToken, createBody("pending.case@acme.example", true)), 409, "uniqueness")
}
