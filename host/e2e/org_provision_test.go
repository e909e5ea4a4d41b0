//go:build linux

package e2e

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const (
	contractors      = "org_group:grp_contractors:member" // g_3, manual
	oktaSales        = "org_group:grp_okta_sales:member"  // g_4, synced from SCIM
	contractorsAdds  = "/organizations/groups/g_3/members/bulk-add"
	contractorsRemov = "/organizations/groups/g_3/members/bulk-remove"
)

// orgProvTenant is an organization of 120 people, unpaced so the runs are quick.
func orgProvTenant(t *testing.T) (*simulator.Tenant, string) {
	t.Helper()
	tenant, srv := newTenant(t, simulator.Config{Members: 10, Org: simulator.OrgConfig{APIKey: orgKey(), People: 120, RateLimit: -1}})
	return tenant, srv.URL
}

// orgRun is a one-shot run with both keys against the c1z at c1z.
func orgRun(t *testing.T, base, c1z string, args ...string) *hostRun {
	t.Helper()
	return runHost(t, runOpts{Args: syncArgs(base, c1z, args...), Key: strPtr(testKey()),
		Env: []string{"BATON_CURSOR_ORG_API_KEY=" + orgKey()}}, 120*time.Second)
}

// notIn is a person (lower-case email) the tenant does not have in group.
func notIn(t *testing.T, tenant *simulator.Tenant, group string) string {
	t.Helper()
	in := tenant.OrgGroupMembers(group)
	for _, p := range tenant.OrgPeople() {
		if p.Email == strings.ToLower(p.Email) && !slices.Contains(in, p.Email) {
			return p.Email
		}
	}
	t.Fatalf("everyone is in %s", group)
	return ""
}

// TestOneShotGrantThenRevokeOrgGroupMembership: sync, grant a manual
// organization group to a person, grant it again (nothing sent), sync,
// revoke it, revoke it again (nothing sent). Each run ends with one line
// saying what it did, and the simulated organization changes. Before, the
// in-process runner refused both flags ("not supported").
func TestOneShotGrantThenRevokeOrgGroupMembership(t *testing.T) {
	t.Parallel()
	tenant, base := orgProvTenant(t)
	c1z := filepath.Join(t.TempDir(), "sync.c1z")
	requireOK(t, "the first sync", orgRun(t, base, c1z))
	email := notIn(t, tenant, "g_3")
	grantArgs := []string{"--grant-entitlement", contractors, "--grant-principal", email, "--grant-principal-type", "user"}

	r := orgRun(t, base, c1z, grantArgs...)
	requireOK(t, "the grant", r)
	if got, want := lastMsg(r.out.String()), `added `+email+` to the organization group "Contractors" (g_3)`; got != want {
		t.Errorf("the grant's last line %q, want %q", got, want)
	}
	if !slices.Contains(tenant.OrgGroupMembers("g_3"), email) {
		t.Fatalf("%s is not in Contractors after the grant", email)
	}
	r = orgRun(t, base, c1z, grantArgs...)
	requireOK(t, "the second grant", r)
	if got := lastMsg(r.out.String()); !strings.Contains(got, "already in") || !strings.Contains(got, "nothing was sent") {
		t.Errorf("the second grant's last line %q, want it to say the person is already in and nothing was sent", got)
	}
	if n := tenant.Requests(contractorsAdds); n != 1 {
		t.Errorf("%s requests after two grants: %d, want 1", contractorsAdds, n)
	}

	requireOK(t, "the sync after the grant", orgRun(t, base, c1z))
	revoke := contractors + ":user:" + email
	r = orgRun(t, base, c1z, "--revoke-grant", revoke)
	requireOK(t, "the revoke", r)
	if got, want := lastMsg(r.out.String()), `removed `+email+` from the organization group "Contractors" (g_3)`; got != want {
		t.Errorf("the revoke's last line %q, want %q", got, want)
	}
	if slices.Contains(tenant.OrgGroupMembers("g_3"), email) {
		t.Fatalf("%s is still in Contractors after the revoke", email)
	}
	r = orgRun(t, base, c1z, "--revoke-grant", revoke)
	requireOK(t, "the second revoke", r)
	if got := lastMsg(r.out.String()); !strings.Contains(got, "is not in") {
		t.Errorf("the second revoke's last line %q, want it to say the person is not in the group", got)
	}
	if n := tenant.Requests(contractorsRemov); n != 1 {
		t.Errorf("%s requests after two revokes: %d, want 1", contractorsRemov, n)
	}
}

// TestOneShotGrantOfSCIMSyncedGroupIsRefused: the identity provider owns
// the group, so the run fails with one line saying to change it there, and
// nothing is sent to the group.
func TestOneShotGrantOfSCIMSyncedGroupIsRefused(t *testing.T) {
	t.Parallel()
	tenant, base := orgProvTenant(t)
	c1z := filepath.Join(t.TempDir(), "sync.c1z")
	requireOK(t, "the sync", orgRun(t, base, c1z))
	email := notIn(t, tenant, "g_4")
	r := orgRun(t, base, c1z, "--grant-entitlement", oktaSales, "--grant-principal", email, "--grant-principal-type", "user")
	requireLastLine(t, "the grant of a SCIM-synced group", r, `"Okta Sales"`, "identity provider")
	if n := tenant.Requests("/organizations/groups/g_4/members/bulk-add"); n != 0 || slices.Contains(tenant.OrgGroupMembers("g_4"), email) {
		t.Errorf("the SCIM-synced group got %d bulk-adds (member now: %v), want none", n, slices.Contains(tenant.OrgGroupMembers("g_4"), email))
	}
}

// TestServiceGrantAndRevokeOrgGroupMembership: C1's grant and revoke tasks,
// built from the c1z a sync task uploaded, change the group.
func TestServiceGrantAndRevokeOrgGroupMembership(t *testing.T) {
	t.Parallel()
	tenant, base := orgProvTenant(t)
	s := startService(t, serviceOpts{Base: base, Env: []string{"BATON_CURSOR_ORG_API_KEY=" + orgKey(), "BATON_PROVISIONING=true"}})
	c := s.syncTask(t)
	email := notIn(t, tenant, "g_3")
	ent, user := entitlementIn(c, contractors), userIn(c, email)
	if ent == nil || user == nil {
		t.Fatalf("the synced c1z lacks %s (%v) or user %s (%v)", contractors, ent != nil, email, user != nil)
	}
	out := s.outcome(t, s.c1.EnqueueGrant(ent, user), 90*time.Second)
	if !out.Success || !slices.Contains(tenant.OrgGroupMembers("g_3"), email) {
		t.Fatalf("grant task: success %v (%v %q); %s in Contractors: %v", out.Success, out.Code, out.Message, email, slices.Contains(tenant.OrgGroupMembers("g_3"), email))
	}
	g := v2.Grant_builder{Id: contractors + ":user:" + email, Entitlement: ent, Principal: user}.Build()
	out = s.outcome(t, s.c1.EnqueueRevoke(g), 90*time.Second)
	if !out.Success || slices.Contains(tenant.OrgGroupMembers("g_3"), email) {
		t.Fatalf("revoke task: success %v (%v %q); %s still in Contractors: %v", out.Success, out.Code, out.Message, email, slices.Contains(tenant.OrgGroupMembers("g_3"), email))
	}
}

func entitlementIn(c *c1zread.Contents, id string) *v2.Entitlement {
	for _, e := range c.Entitlements {
		if e.GetId() == id {
			return e
		}
	}
	return nil
}

// TestOneShotTeamMembershipNeedsTheOptIn: without cursor-organization-id a
// team grant fails in one line naming it and sends nothing; with it, a
// grant puts the person on the team keeping their other teams (a repeat
// sends nothing), a revoke takes them off again, a team role cannot be
// granted, and a SCIM-managed team is refused naming the identity provider.
func TestOneShotTeamMembershipNeedsTheOptIn(t *testing.T) {
	t.Parallel()
	tenant, base := orgProvTenant(t)
	c1z := filepath.Join(t.TempDir(), "sync.c1z")
	requireOK(t, "the sync", orgRun(t, base, c1z))
	const team, scimTeam = simulator.OrgTeamBase + 1, simulator.OrgTeamBase + 3 // the simulator's last team is SCIM-managed
	var who simulator.OrgPerson
	for _, p := range tenant.OrgPeople() {
		_, on := p.Teams[team]
		_, onSCIM := p.Teams[scimTeam]
		if !on && !onSCIM && len(p.Teams) == 1 && p.Email == strings.ToLower(p.Email) {
			who = p
			break
		}
	}
	teamsOf := func() map[int64]string {
		for _, p := range tenant.OrgPeople() {
			if p.Email == who.Email {
				return p.Teams
			}
		}
		return nil
	}
	const syncRoute = "/organizations/team-memberships/sync"
	grant := []string{"--grant-entitlement", "org_team:102:member", "--grant-principal", who.Email, "--grant-principal-type", "user"}

	requireLastLine(t, "a team grant without the opt-in", orgRun(t, base, c1z, grant...), "cursor-organization-id")
	if n := tenant.Requests(syncRoute); n != 0 {
		t.Fatalf("%s got %d requests without the opt-in, want none", syncRoute, n)
	}

	optIn := func(args ...string) *hostRun {
		return runHost(t, runOpts{Args: syncArgs(base, c1z, args...), Key: strPtr(testKey()),
			Env: []string{"BATON_CURSOR_ORG_API_KEY=" + orgKey(), "BATON_CURSOR_ORGANIZATION_ID=" + simulator.OrgID}}, 120*time.Second)
	}
	r := optIn(grant...)
	requireOK(t, "the team grant", r)
	want := map[int64]string{team: "member"}
	for id, role := range who.Teams {
		want[id] = role
	}
	if got := teamsOf(); !maps.Equal(got, want) {
		t.Fatalf("teams after the grant %v, want %v (the old team kept with its role)", got, want)
	}
	if got := lastMsg(r.out.String()); !strings.HasPrefix(got, "added "+who.Email+" to team 102") {
		t.Errorf("the grant's last line %q", got)
	}
	requireOK(t, "the repeated team grant", optIn(grant...))
	if n := tenant.Requests(syncRoute); n != 1 {
		t.Errorf("%s requests after two grants: %d, want 1", syncRoute, n)
	}
	requireOK(t, "the sync after the grant", optIn())
	requireOK(t, "the team revoke", optIn("--revoke-grant", "org_team:102:member:user:"+who.Email))
	if got := teamsOf(); !maps.Equal(got, who.Teams) {
		t.Errorf("teams after the revoke %v, want %v", got, who.Teams)
	}

	requireLastLine(t, "a team role grant", optIn("--grant-entitlement", "org_team:102:owner", "--grant-principal", who.Email, "--grant-principal-type", "user"),
		"no Cursor API sets a team role")
	requireLastLine(t, "a grant of the SCIM-managed team", optIn("--grant-entitlement", "org_team:104:member", "--grant-principal", who.Email, "--grant-principal-type", "user"),
		"identity provider")
	if got := teamsOf(); !maps.Equal(got, who.Teams) {
		t.Errorf("teams after the refusals %v, want %v", got, who.Teams)
	}
}
