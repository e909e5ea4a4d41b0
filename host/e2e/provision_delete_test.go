//go:build linux

// Deleting accounts: SCIM-managed, dashboard members, Cursor's last-admin refusal, ambiguous and absent people.

package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// 2. Deleting a SCIM-managed member deletes the SCIM user once; the member is
// then removed, and a repeat sends nothing.
func TestDeleteSCIMManagedMember(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 22})
	env := scimEnv(base, token)
	m := tenant.Members()[simulator.RowSCIMActive]
	if m.IsRemoved || len(scimUsersNamed(tenant, m.Email)) != 1 {
		t.Fatalf("row RowSCIMActive %+v is not an active member with one SCIM user", m)
	}
	id := strings.ToLower(m.Email)

	r := runCursor(t, base, env, deleteArgs(id)...)
	requireOK(t, "delete", r)
	if n := tenant.Requests(keySCIMDelete); n != 1 {
		t.Errorf("%s requests: %d, want 1", keySCIMDelete, n)
	}
	if n := tenant.Requests(keyRemoveMember); n != 0 {
		t.Errorf("%s requests: %d, want 0 for a SCIM-managed member", keyRemoveMember, n)
	}
	if got := tenant.Members()[simulator.RowSCIMActive]; !got.IsRemoved {
		t.Errorf("member %s is not removed after the SCIM delete", m.Email)
	}
	if n := len(scimUsersNamed(tenant, m.Email)); n != 0 {
		t.Errorf("SCIM users named %s after the delete: %d, want 0", m.Email, n)
	}

	c, _, _ := syncWith(t, base, env)
	u := userIn(c, id)
	if u == nil {
		t.Fatalf("the sync after the delete has no user %s", id)
	}
	if st := u.GetStatus().GetStatus(); st != v2.Status_RESOURCE_STATUS_DISABLED {
		t.Errorf("deleted user %s: status %v, want DISABLED", id, st)
	}
	requireProfileBool(t, u, "removed", true)
	if g := grantsTo(c, id); len(g) != 0 {
		t.Errorf("deleted user %s has grants %v, want none", id, g)
	}

	// Again: success, and no second DELETE.
	r = runCursor(t, base, env, deleteArgs(id)...)
	requireOK(t, "repeated delete", r)
	if n := tenant.Requests(keySCIMDelete); n != 1 {
		t.Errorf("%s requests after the repeated delete: %d, want still 1", keySCIMDelete, n)
	}
	if n := tenant.Requests(keyRemoveMember); n != 0 {
		t.Errorf("%s requests after the repeated delete: %d, want 0", keyRemoveMember, n)
	}
}

// 3. A member added in the dashboard is refused without the opt-in, and
// removed through the Admin API with it.
func TestDeleteDashboardMember(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 23})
	m := tenant.Members()[simulator.RowDashboardOnly]
	if m.IsRemoved || len(scimUsersNamed(tenant, m.Email)) != 0 {
		t.Fatalf("row RowDashboardOnly %+v is not an active member without a SCIM user", m)
	}
	id := strings.ToLower(m.Email)

	r := runCursor(t, base, scimEnv(base, token), deleteArgs(id)...)
	requireLastLine(t, "delete without the opt-in", r, id, "added in the Cursor dashboard", "cursor-remove-unmanaged")
	if n := tenant.Requests(keyRemoveMember); n != 0 {
		t.Errorf("%s requests without the opt-in: %d, want 0", keyRemoveMember, n)
	}
	if n := tenant.Requests(keySCIMDelete); n != 0 {
		t.Errorf("%s requests: %d, want 0", keySCIMDelete, n)
	}
	if tenant.Members()[simulator.RowDashboardOnly].IsRemoved {
		t.Fatalf("member %s was removed although the operator did not opt in", m.Email)
	}

	r = runCursor(t, base, scimEnv(base, token, "BATON_CURSOR_REMOVE_UNMANAGED=true"), deleteArgs(id)...)
	requireOK(t, "delete with the opt-in", r)
	if n := tenant.Requests(keyRemoveMember); n != 1 {
		t.Errorf("%s requests with the opt-in: %d, want 1", keyRemoveMember, n)
	}
	if !tenant.Members()[simulator.RowDashboardOnly].IsRemoved {
		t.Errorf("member %s is not removed after the opted-in delete", m.Email)
	}
	if n := tenant.Requests(keySCIMDelete); n != 0 {
		t.Errorf("%s requests: %d, want 0 (the member has no SCIM user)", keySCIMDelete, n)
	}
}

// lastAdminTenant finds a seed whose 40-member team has exactly one admin
// (owner or free-owner) added in the dashboard (an odd row of 20 or more,
// active) and no other active admins than rows 0 and 2 (SCIM-managed). It
// returns the config and that admin's row.
func lastAdminTenant(t *testing.T) (simulator.Config, int) {
	t.Helper()
	isAdmin := func(m simulator.Member) bool {
		return !m.IsRemoved && (m.Role == "owner" || m.Role == "free-owner")
	}
	for seed := int64(1); seed <= 2000; seed++ {
		cfg := simulator.Config{Members: 40, Seed: seed, APIKey: testKey()}
		tenant, err := simulator.New(cfg)
		if err != nil {
			t.Fatalf("simulator.New: %v", err)
		}
		ms := tenant.Members()
		if !isAdmin(ms[0]) || !isAdmin(ms[2]) {
			t.Fatalf("rows 0 and 2 are not the fixed admins: %+v, %+v", ms[0], ms[2])
		}
		target, ok := -1, true
		for i := 20; i < len(ms) && ok; i++ {
			switch {
			case !isAdmin(ms[i]):
			case i%2 == 0 || target >= 0:
				ok = false
			default:
				target = i
			}
		}
		if ok && target >= 0 {
			return cfg, target
		}
	}
	t.Fatalf("no seed up to 2000 gives a 40-member team with exactly one dashboard-added admin")
	return simulator.Config{}, 0
}

// 4. Cursor's refusal to remove the last admin is passed on word for word.
func TestDeleteDashboardMemberCursorRefusesLastAdmin(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	cfg, row := lastAdminTenant(t)
	tenant, base := newSCIMTenant(t, cfg)
	env := scimEnv(base, token, "BATON_CURSOR_REMOVE_UNMANAGED=true")
	ms := tenant.Members()
	target := ms[row]
	if len(scimUsersNamed(tenant, target.Email)) != 0 {
		t.Fatalf("the dashboard admin %s has a SCIM user", target.Email)
	}
	// Remove the other two admins (SCIM-managed) through the connector.
	for _, i := range []int{0, 2} {
		r := runCursor(t, base, env, deleteArgs(strings.ToLower(ms[i].Email))...)
		requireOK(t, "delete of admin row "+strconv.Itoa(i), r)
		if !tenant.Members()[i].IsRemoved {
			t.Fatalf("admin row %d (%s) is not removed after its delete", i, ms[i].Email)
		}
	}
	if n := tenant.Requests(keyRemoveMember); n != 0 {
		t.Fatalf("%s requests while deleting SCIM-managed admins: %d, want 0", keyRemoveMember, n)
	}

	r := runCursor(t, base, env, deleteArgs(strings.ToLower(target.Email))...)
	requireLastLine(t, "delete of the last admin", r, strings.ToLower(target.Email), lastAdminText)
	if n := tenant.Requests(keyRemoveMember); n != 1 {
		t.Errorf("%s requests: %d, want 1 (a refusal is not retried)", keyRemoveMember, n)
	}
	if tenant.Members()[row].IsRemoved {
		t.Errorf("the last admin %s was removed", target.Email)
	}
}

// 5. Two SCIM users with one userName: nothing is deleted and the error says so.
func TestDeleteAmbiguousSCIMUser(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	probe, err := simulator.New(simulator.Config{Members: 20, Seed: 25, APIKey: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	m := probe.Members()[simulator.RowSCIMActive]
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 25, SCIMDuplicateUserNames: []string{m.Email}})
	if n := len(scimUsersNamed(tenant, m.Email)); n != 2 {
		t.Fatalf("the tenant holds %d SCIM users named %s, want 2", n, m.Email)
	}
	id := strings.ToLower(m.Email)

	r := runCursor(t, base, scimEnv(base, token, "BATON_CURSOR_REMOVE_UNMANAGED=true"), deleteArgs(id)...)
	requireLastLine(t, "ambiguous delete", r, id, "2 SCIM users", "userName")
	if n := tenant.Requests(keySCIMDelete); n != 0 {
		t.Errorf("%s requests: %d, want 0", keySCIMDelete, n)
	}
	if n := tenant.Requests(keyRemoveMember); n != 0 {
		t.Errorf("%s requests: %d, want 0", keyRemoveMember, n)
	}
	if got, _ := memberByEmail(tenant, m.Email); got.IsRemoved {
		t.Errorf("member %s was removed although two SCIM users share the userName", m.Email)
	}
	if n := len(scimUsersNamed(tenant, m.Email)); n != 2 {
		t.Errorf("SCIM users named %s: %d after the refused delete, want 2", m.Email, n)
	}
}

// 6. A person who is nowhere: success, nothing sent.
func TestDeleteAbsentPerson(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 26})
	before := tenant.Members()
	r := runCursor(t, base, scimEnv(base, token, "BATON_CURSOR_REMOVE_UNMANAGED=true"), deleteArgs("nobody@nowhere.test")...)
	requireOK(t, "delete of an absent person", r)
	if n := tenant.Requests(keySCIMDelete); n != 0 {
		t.Errorf("%s requests: %d, want 0", keySCIMDelete, n)
	}
	if n := tenant.Requests(keyRemoveMember); n != 0 {
		t.Errorf("%s requests: %d, want 0", keyRemoveMember, n)
	}
	if after := tenant.Members(); !slices.Equal(after, before) {
		t.Errorf("the roster changed by the delete of an absent person")
	}
}
