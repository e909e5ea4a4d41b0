//go:build linux

package e2e

import (
	"testing"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// Against a SCIM server whose userName search compares case exactly (as real
// servers do), identity still ignores case (issue 15.3): a create never POSTs
// a second user for an address held in another case, and a delete of an
// address held by several users in any case mix deletes nothing and names them.
func TestSCIMIdentityIgnoresCaseOnACaseSensitiveServer(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 41, SCIMCaseSensitiveUserName: true,
		SCIMDuplicateUserNames: []string{"dup.pair@example.com", "Twin@example.com"}})
	env := scimEnv(base, scimTestToken())

	requireOK(t, "create Pending.Case@", runCursor(t, base, env, createArgs("Pending.Case@example.com", "Pen", "Case")...))
	r := runCursor(t, base, env, createArgs("pending.case@example.com", "Pen", "Case")...)
	requireOK(t, "create pending.case@", r)
	requireLine(t, "create pending.case@", r, "already has a Cursor account")
	if users := scimUsersNamed(tenant, "pending.case@example.com"); len(users) != 1 {
		t.Errorf("%d SCIM users for pending.case@ in some case, want 1: %+v", len(users), users)
	}

	for _, email := range []string{"dup.pair@example.com", "twin@example.com"} {
		held := scimUsersNamed(tenant, email)
		if len(held) != 2 {
			t.Fatalf("the tenant holds %d SCIM users for %s, want 2", len(held), email)
		}
		r := runCursor(t, base, env, deleteArgs(email)...)
		requireLastLine(t, "delete "+email, r, "refusing to remove", "2 SCIM users", held[0].ID, held[1].ID)
		if n := len(scimUsersNamed(tenant, email)); n != 2 {
			t.Errorf("delete %s: %d SCIM users left, want both", email, n)
		}
	}
	if n := tenant.Requests("DELETE /scim/v2/Users"); n != 0 {
		t.Errorf("%d SCIM DELETEs, want 0", n)
	}
}
