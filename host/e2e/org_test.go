//go:build linux

package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// orgKey is a recognisable Organization API key, built in code; it differs
// from testKey as the simulator requires.
func orgKey() string { return "crsr_org_" + strings.Repeat("0rgK3y", 10)[:56] }

// orgSync runs a one-shot sync with the given keys (nil: unset) and reads the c1z back.
func orgSync(t *testing.T, srvURL string, teamKey, org *string) (*c1zread.Contents, *hostRun) {
	t.Helper()
	return orgSyncWith(t, srvURL, teamKey, org, nil)
}

// orgSyncEnv is orgSync with both keys and extra environment.
func orgSyncEnv(t *testing.T, srvURL string, env []string) (*c1zread.Contents, *hostRun) {
	t.Helper()
	return orgSyncWith(t, srvURL, strPtr(testKey()), strPtr(orgKey()), env)
}

func orgSyncWith(t *testing.T, srvURL string, teamKey, org *string, env []string) (*c1zread.Contents, *hostRun) {
	t.Helper()
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	o := runOpts{Args: syncArgs(srvURL, c1z), Key: teamKey, Env: env}
	if org != nil {
		o.Env = append(o.Env, "BATON_CURSOR_ORG_API_KEY="+*org)
	}
	r := runHost(t, o, 180*time.Second)
	if code := r.exitCode(); code != 0 {
		t.Fatalf("sync exited %d, want 0; output:\n%s", code, tail(r.out.String(), 30))
	}
	c, err := c1zread.Read(context.Background(), c1z)
	if err != nil {
		t.Fatalf("read %s: %v", c1z, err)
	}
	return c, r
}

// grantsOn maps "<resource id>/<entitlement slug>" of resources of rtype to the principals holding it.
func grantsOn(c *c1zread.Contents, rtype string) map[string][]string {
	out := map[string][]string{}
	for _, g := range c.Grants {
		e := g.GetEntitlement()
		if e.GetResource().GetId().GetResourceType() != rtype {
			continue
		}
		slug := e.GetId()[strings.LastIndex(e.GetId(), ":")+1:]
		k := e.GetResource().GetId().GetResource() + "/" + slug
		out[k] = append(out[k], g.GetPrincipal().GetId().GetResource())
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

func groupProfile(t *testing.T, r *v2.Resource) map[string]any {
	t.Helper()
	for _, a := range r.GetAnnotations() {
		gt := &v2.GroupTrait{}
		if a.MessageIs(gt) {
			if err := a.UnmarshalTo(gt); err != nil {
				t.Fatal(err)
			}
			return gt.GetProfile().AsMap()
		}
	}
	t.Fatalf("resource %s has no group trait", r.GetId().GetResource())
	return nil
}

func TestOrgSyncTeamsRolesAndGroups(t *testing.T) {
	const people = 450 // three member pages of 200
	tenant, srv := newTenant(t, simulator.Config{Members: 40, Org: simulator.OrgConfig{APIKey: orgKey(), People: people}})
	c, r := orgSync(t, srv.URL, strPtr(testKey()), strPtr(orgKey()))
	persons := tenant.OrgPeople()

	// Every person is one user, keyed by lower-cased email, whatever id form each route uses.
	users := map[string]int{}
	for _, u := range c.OfType("user") {
		users[u.GetId().GetResource()]++
	}
	for _, p := range persons {
		if n := users[strings.ToLower(p.Email)]; n != 1 {
			t.Errorf("person %s is %d users, want 1", p.Email, n)
		}
	}

	// Teams: one resource per team, one grant per member per team, on their role.
	wantTeams := map[string][]string{}
	twoTeams := 0
	for _, p := range persons {
		if len(p.Teams) == 2 {
			twoTeams++
		}
		for team, role := range p.Teams {
			k := strconv.FormatInt(team, 10) + "/" + role
			wantTeams[k] = append(wantTeams[k], strings.ToLower(p.Email))
		}
	}
	if twoTeams == 0 {
		t.Fatal("the simulated organization has nobody on two teams")
	}
	if got := len(c.OfType("org_team")); got != 4 {
		t.Errorf("org_team resources: %d, want 4", got)
	}
	requireSameGrants(t, "team", grantsOn(c, "org_team"), wantTeams)

	// Organization roles.
	wantRoles := map[string][]string{}
	for _, p := range persons {
		wantRoles[p.OrgRole+"/assigned"] = append(wantRoles[p.OrgRole+"/assigned"], strings.ToLower(p.Email))
	}
	requireSameGrants(t, "organization role", grantsOn(c, "org_role"), wantRoles)

	// Groups of the three layers, with their members; SCIM-synced ones say so.
	wantGroups := map[string]map[string][]string{
		"org_group":            {},
		"team_directory_group": {},
		"billing_group":        {},
	}
	for rtype, ids := range map[string]map[string]string{
		"org_group":            {"grp_engineering": "g_1", "grp_engineering_lc": "g_2", "grp_contractors": "g_3", "grp_okta_sales": "g_4", "grp_okta_admins": "g_5"},
		"team_directory_group": {"team_group_1": "team_group_1", "team_group_2": "team_group_2", "team_group_3": "team_group_3"},
		"billing_group":        {"group_1": "group_1", "group_2": "group_2", "group_3": "group_3"},
	} {
		for key, id := range ids {
			for _, e := range tenant.OrgGroupMembers(id) {
				wantGroups[rtype][key+"/member"] = append(wantGroups[rtype][key+"/member"], strings.ToLower(e))
			}
		}
		if got := len(c.OfType(rtype)); got != len(ids) {
			t.Errorf("%s resources: %d, want %d", rtype, got, len(ids))
		}
		requireSameGrants(t, rtype, grantsOn(c, rtype), wantGroups[rtype])
	}
	synced := map[string]bool{}
	for _, rtype := range []string{"org_group", "team_directory_group", "billing_group"} {
		for _, g := range c.OfType(rtype) {
			if groupProfile(t, g)["scim_synced"] == true {
				synced[g.GetId().GetResource()] = true
			}
		}
	}
	for _, k := range []string{"grp_okta_sales", "grp_okta_admins", "team_group_3", "group_3"} {
		if !synced[k] {
			t.Errorf("group %s is SCIM-synced in Cursor but its profile does not say scim_synced", k)
		}
	}
	if len(synced) != 4 {
		t.Errorf("groups marked scim_synced: %v, want the 4 synced ones", synced)
	}
	// The members are read once per sync, 200 a page, whatever reads them (users, teams, roles).
	if n := tenant.Requests("/organizations/members"); n != 3 {
		t.Errorf("/organizations/members was asked %d times for %d people, want 3 pages", n, people)
	}
	if _, ok := anyLine(r.out.String(), "organization members read", `"requests_this_sync":3`); !ok {
		t.Errorf("no line gives the organization request count; output:\n%s", tail(r.out.String(), 30))
	}
	if n := tenant.OrgRateLimited(); n != 0 {
		t.Errorf("the organization routes answered 429 %d times, want 0", n)
	}
}

func requireSameGrants(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for k, w := range want {
		sort.Strings(w)
		if strings.Join(got[k], ",") != strings.Join(w, ",") {
			t.Errorf("%s %s: %d grants, want %d", what, k, len(got[k]), len(w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s %s: %d grants, want none", what, k, len(got[k]))
		}
	}
}

// With only the organization key, the organization still syncs and the
// team-only parts are said to be off.
func TestOrgSyncWithoutTeamKey(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 40, Org: simulator.OrgConfig{APIKey: orgKey(), People: 250}})
	c, r := orgSync(t, srv.URL, nil, strPtr(orgKey()))
	if got, want := len(c.OfType("user")), len(tenant.OrgPeople()); got != want {
		t.Errorf("users: %d, want the organization's %d", got, want)
	}
	for _, rtype := range []string{"role", "team", "team_directory_group", "billing_group"} {
		if n := len(c.OfType(rtype)); n != 0 {
			t.Errorf("%d %s resources without a team key, want 0", n, rtype)
		}
	}
	if len(c.OfType("org_team")) == 0 || len(c.OfType("org_group")) == 0 {
		t.Errorf("organization-only sync has no teams or groups")
	}
	if _, ok := anyLine(r.out.String(), "organization only", "cursor-api-key", "off"); !ok {
		t.Errorf("no line says the team-only parts are off; output:\n%s", tail(r.out.String(), 30))
	}
	if n := tenant.Requests(membersPath); n != 0 {
		t.Errorf("%s was asked %d times without a team key", membersPath, n)
	}
}

// A team key given as the organization key (each is refused on the other's
// routes) fails with one line naming the setting, and no sync is written.
func TestOrgSyncWrongKindOfKey(t *testing.T) {
	_, srv := newTenant(t, simulator.Config{Members: 20, Org: simulator.OrgConfig{APIKey: orgKey(), People: 20}})
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(testKey()), Env: []string{"BATON_CURSOR_ORG_API_KEY=" + testKey()}}, 60*time.Second)
	requireFailure(t, r, "cursor-org-api-key", "BATON_CURSOR_ORG_API_KEY", "not a team Admin API key")
	requireNoFinishedSync(t, c1z)
	requireNoSecret(t, "the output", []byte(r.out.String()), testKey())
}

// Without the organization key the c1z holds today's types only; with it,
// today's resources, entitlements and grants are all still there, unchanged.
func TestOrgSyncLeavesTodaysTeamSyncUnchanged(t *testing.T) {
	_, srv := newTenant(t, simulator.Config{Members: 60, Org: simulator.OrgConfig{APIKey: orgKey(), People: 100}})
	without, _ := orgSync(t, srv.URL, strPtr(testKey()), nil)
	for _, r := range without.Resources {
		if rt := r.GetId().GetResourceType(); rt != "user" && rt != "role" && rt != "team" {
			t.Errorf("a sync without the organization key has a %s resource", rt)
		}
	}
	with, _ := orgSync(t, srv.URL, strPtr(testKey()), strPtr(orgKey()))
	todays := &c1zread.Contents{}
	teamUsers := map[string]bool{}
	for _, r := range without.OfType("user") {
		teamUsers[r.GetId().GetResource()] = true
	}
	for _, r := range with.Resources {
		rt := r.GetId().GetResourceType()
		if rt == "role" || rt == "team" || (rt == "user" && teamUsers[r.GetId().GetResource()]) {
			todays.Resources = append(todays.Resources, r)
		}
	}
	for _, e := range with.Entitlements {
		if rt := e.GetResource().GetId().GetResourceType(); rt == "role" || rt == "team" {
			todays.Entitlements = append(todays.Entitlements, e)
		}
	}
	for _, g := range with.Grants {
		if rt := g.GetEntitlement().GetResource().GetId().GetResourceType(); rt == "role" || rt == "team" {
			todays.Grants = append(todays.Grants, g)
		}
	}
	if a, b := dumpContents(t, without), dumpContents(t, todays); !bytes.Equal(a, b) {
		t.Errorf("the team's part of the c1z changed with the organization key (%d bytes vs %d)", len(a), len(b))
	}
}

// A sidecar with the organization key in its environment serves the
// organization, and a host attached to it (holding no key) syncs it.
func TestOrgSyncThroughASidecar(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 30, Org: simulator.OrgConfig{APIKey: orgKey(), People: 120}})
	_, base := scServe(t, append(scSettings(testKey(), srv.URL), "BATON_CURSOR_ORG_API_KEY="+orgKey()), "--listen", "127.0.0.1:0")
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := runHost(t, runOpts{Args: scAttachArgs(base, c1z)}, 120*time.Second)
	if code := r.exitCode(); code != 0 {
		t.Fatalf("attached sync exited %d, want 0; output:\n%s", code, tail(r.out.String(), 30))
	}
	c, err := c1zread.Read(context.Background(), c1z)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.OfType("org_team")); got != 4 {
		t.Errorf("org_team resources through the sidecar: %d, want 4", got)
	}
	if got := len(c.OfType("org_group")); got != 5 {
		t.Errorf("org_group resources through the sidecar: %d, want 5", got)
	}
	requireEveryPersonAUser(t, c, tenant)
}

// requireEveryPersonAUser: each person of the organization is a user of the c1z.
func requireEveryPersonAUser(t *testing.T, c *c1zread.Contents, tenant *simulator.Tenant) {
	t.Helper()
	users := map[string]bool{}
	for _, u := range c.OfType("user") {
		users[u.GetId().GetResource()] = true
	}
	for _, p := range tenant.OrgPeople() {
		if !users[strings.ToLower(p.Email)] {
			t.Errorf("person %s is not a user", p.Email)
		}
	}
}
