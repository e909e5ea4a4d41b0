//go:build linux

// SCIM answers that are not what a create or delete expects.

package e2e

import (
	"strings"
	"testing"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// A SCIM search that misses a user who exists (a lagging replica), so the
// create is answered 409: the connector looks again, finds the user and
// reports that the account exists. Nothing is created.
func TestSCIMCreateConflictAfterSearchMiss(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 61,
		Faults: simulator.Faults{SCIMSearchMisses: 1}})
	email := tenant.Members()[simulator.RowSCIMActive].Email
	before := len(tenant.SCIMUsers())

	r := runCursor(t, base, scimEnv(base, scimTestToken()), createArgs(email, "Already", "There")...)
	fxRequireExit(t, r, 0)
	requireLine(t, "create of an existing user", r, email, "already has a Cursor account")
	fxRequireNoLine(t, "create of an existing user", r, "created the Cursor account")
	if n := tenant.Requests(keySCIMCreate); n != 1 {
		t.Errorf("%s requests: %d, want 1 (answered 409)", keySCIMCreate, n)
	}
	if n := len(tenant.SCIMUsers()); n != before {
		t.Errorf("SCIM users: %d, want still %d", n, before)
	}
	if n := len(scimUsersNamed(tenant, email)); n != 1 {
		t.Errorf("SCIM users named %s: %d, want 1", email, n)
	}
}

// The SCIM server's search never finds the user (as a server whose filter
// compares userName case-sensitively would not): the connector does not trust
// the filter, finds the user by listing the directory itself, and creates
// nothing (before the fix it POSTed and then failed on the 409).
func TestSCIMCreateConflictSearchNeverFinds(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 62,
		Faults: simulator.Faults{SCIMSearchMisses: -1}})
	email := tenant.Members()[simulator.RowSCIMActive].Email
	before := len(tenant.SCIMUsers())

	r := runCursor(t, base, scimEnv(base, scimTestToken()), createArgs(email, "Already", "There")...)
	fxRequireNoLine(t, "create of a user the search misses", r, "created the Cursor account")
	fxRequireExit(t, r, 0)
	if _, ok := anyLine(r.out.String(), email+" already has a Cursor account managed by SCIM"); !ok {
		t.Errorf("no line says %s already has an account:\n%s", email, tail(r.out.String(), 10))
	}
	if n := tenant.Requests(keySCIMCreate); n != 0 {
		t.Errorf("%s requests: %d, want 0 (the listing found the user)", keySCIMCreate, n)
	}
	if n := len(tenant.SCIMUsers()); n != before {
		t.Errorf("SCIM users: %d, want still %d", n, before)
	}
}

// The SCIM user is deleted by someone else between the connector's search and
// its DELETE, which is answered 404: the person is gone, which is what was
// asked, so the delete succeeds; a repeat sends nothing.
func TestSCIMDeleteRacedToNotFound(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 63,
		Faults: simulator.Faults{SCIMConcurrentDeletes: 1}})
	env := scimEnv(base, scimTestToken())
	m := tenant.Members()[simulator.RowSCIMActive]
	id := strings.ToLower(m.Email)

	r := runCursor(t, base, env, deleteArgs(id)...)
	fxRequireExit(t, r, 0)
	requireLine(t, "delete answered 404", r, "deleted the SCIM user "+id)
	if n := tenant.Requests(keySCIMDelete); n != 1 {
		t.Errorf("%s requests: %d, want 1", keySCIMDelete, n)
	}
	if !tenant.Members()[simulator.RowSCIMActive].IsRemoved {
		t.Errorf("member %s is not removed", m.Email)
	}

	r = runCursor(t, base, env, deleteArgs(id)...)
	fxRequireExit(t, r, 0)
	if n := tenant.Requests(keySCIMDelete); n != 1 {
		t.Errorf("%s requests after the repeat: %d, want still 1", keySCIMDelete, n)
	}
}

// SCIM answering 503 forever: six attempts, exit 10 with a line naming the
// SCIM request, and nothing created.
func TestSCIMKeepsFailing(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 64,
		Faults: simulator.Faults{SCIMServerErrors: -1, SCIMRetryAfter: "1"}})
	r := runCursor(t, base, scimEnv(base, scimTestToken()), createArgs("new.hire@newhire.test", "New", "Hire")...)
	fxRequireExit(t, r, exitAborted)
	requireLastLine(t, "create while SCIM fails", r,
		"Cursor's SCIM endpoint kept failing GET /Users (HTTP 503", "after 6 attempts")
	if n := scimRequests(allRequests(t, base)); n != 6 {
		t.Errorf("SCIM requests: %d, want exactly 6 (one try and five retries)", n)
	}
	if n := tenant.Requests(keySCIMCreate); n != 0 {
		t.Errorf("%s requests: %d, want 0", keySCIMCreate, n)
	}
	if n := len(scimUsersNamed(tenant, "new.hire@newhire.test")); n != 0 {
		t.Errorf("SCIM users created: %d, want 0", n)
	}
}

// --- exit codes of refusals ---
