//go:build linux

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// Issue 15.4: when Cursor pages GET /teams/members (page, pageSize,
// pagination.hasNextPage, as its own Terraform provider reads it), a sync
// holds every member of every page, reads one consistent roster, keys
// cursor_id by publicId, and keeps organization admins in their own role.

// wantCursorID is the cursor_id the connector should store: the user_
// publicId when Cursor sends one, else the id as text.
func wantCursorID(t *testing.T, m simulator.Member) string {
	t.Helper()
	if m.PublicID != "" {
		return m.PublicID
	}
	return cursorIDText(t, m.ID)
}

func TestSyncReadsEveryPageOfAPagedRoster(t *testing.T) {
	t.Parallel()
	// The tenant clamps the 500 a page asked for to 100: 11 pages, the last of 50.
	tenant, srv := newTenant(t, simulator.Config{Members: 1050, Seed: 15, IDStyle: simulator.IDStylePublic, MembersPageSize: 100})
	c, _, _ := syncOK(t, srv.URL)
	checkSyncMatchesTenant(t, tenant.Members(), c) // every user, field by field; cursor_id is the publicId
	if n := len(c.OfType("user")); n != 1050 {
		t.Errorf("c1z holds %d users, want all 1050 of the 11 pages", n)
	}
	if n := tenant.Requests(membersPath); n != 11 {
		t.Errorf("%s was requested %d times, want 11 (one a page, one read)", membersPath, n)
	}
}

func TestSyncOfAnUnpagedRosterIsOneRequest(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 1050, Seed: 15, IDStyle: simulator.IDStylePublic})
	c, _, _ := syncOK(t, srv.URL)
	checkSyncMatchesTenant(t, tenant.Members(), c)
	if n := tenant.Requests(membersPath); n != 1 {
		t.Errorf("%s was requested %d times, want 1", membersPath, n)
	}
}

func TestSyncReadsARosterThatChangedBetweenPagesAgain(t *testing.T) {
	t.Parallel()
	// Someone joins while page 2 of the first read is asked for: the read is
	// refused and the roster read again from page 1, with the newcomer.
	tenant, srv := newTenant(t, simulator.Config{Members: 250, Seed: 15, MembersPageSize: 100,
		Faults: simulator.Faults{RosterChangesBetweenPages: 1}})
	c, _, _ := syncOK(t, srv.URL)
	members := tenant.Members()
	if len(members) != 251 {
		t.Fatalf("the tenant holds %d members, want 251 (the fault adds one)", len(members))
	}
	checkSyncMatchesTenant(t, members, c)
	if n := tenant.Requests(membersPath); n != 2+3 {
		t.Errorf("%s was requested %d times, want 5 (2 pages of the read that changed, then 3)", membersPath, n)
	}
}

func TestSyncRefusesARosterThatKeepsChangingBetweenPages(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 250, Seed: 15, MembersPageSize: 100,
		Faults: simulator.Faults{RosterChangesBetweenPages: -1}})
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(testKey())}, 120*time.Second)
	requireFailure(t, r, "Cursor's roster changed while it was read twice", "totalCount went from 250 to 251 at page 2", "sync again later")
	if code := r.exitCode(); code != 10 {
		t.Errorf("exit code %d, want 10", code)
	}
	requireNoFinishedSync(t, c1z)
	if n := tenant.Requests(membersPath); n != 4 {
		t.Errorf("%s was requested %d times, want 4 (two reads, each stopping at page 2, where the roster changed)", membersPath, n)
	}
}

func TestSyncKeepsOrgAdminsInTheirOwnRole(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 60, Seed: 15, OrgAdmins: 3, MembersPageSize: 25, IDStyle: simulator.IDStylePublic})
	c, _, _ := syncOK(t, srv.URL)

	var orgAdmins []string
	for _, m := range tenant.Members() {
		if m.Role == simulator.OrgAdminRole {
			orgAdmins = append(orgAdmins, strings.ToLower(m.Email))
		}
	}
	if len(orgAdmins) != 3 {
		t.Fatalf("the tenant holds %d org admins, want 3", len(orgAdmins))
	}
	var role string
	for _, r := range c.OfType("role") {
		if r.GetId().GetResource() == "Org Admin" {
			role = r.GetDisplayName()
			rt, err := rs.GetRoleTrait(r)
			if err != nil {
				t.Fatalf("role Org Admin has no role trait: %v", err)
			}
			if p := rt.GetProfile().AsMap(); p["known"] != true || p["active_members"] != float64(3) || p["cursor_role"] != "Org Admin" {
				t.Errorf("role Org Admin profile %v, want cursor_role Org Admin, known, 3 active members", p)
			}
		}
	}
	if role != "Org Admin" {
		t.Fatalf("no role Org Admin (display name %q) in the c1z", role)
	}
	const ent = "role:Org Admin:assigned"
	var entFound bool
	for _, e := range c.Entitlements {
		entFound = entFound || e.GetId() == ent
	}
	if !entFound {
		t.Errorf("no entitlement %q in the c1z", ent)
	}
	grantsTo := map[string][]string{}
	for _, g := range c.Grants {
		p := g.GetPrincipal().GetId().GetResource()
		grantsTo[p] = append(grantsTo[p], g.GetEntitlement().GetId())
	}
	for _, key := range orgAdmins {
		if got := grantsTo[key]; len(got) != 1 || got[0] != ent {
			t.Errorf("org admin %s holds grants %v, want exactly [%s]", key, got, ent)
		}
		u := userByEmail(t, c, key)
		if got := profileOf(t, u)["role"]; got != "Org Admin" {
			t.Errorf("org admin %s: profile role %v, want Org Admin", key, got)
		}
		if ut, err := rs.GetUserTrait(u); err != nil || ut.GetStatus().GetStatus().String() != "STATUS_ENABLED" {
			t.Errorf("org admin %s: user trait %v (%v), want enabled", key, ut, err)
		}
	}
	if n := tenant.Requests(membersPath); n != 3 {
		t.Errorf("%s was requested %d times, want 3 (pages of 25)", membersPath, n)
	}
}
