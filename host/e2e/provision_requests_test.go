//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// enrichmentPaths are the activity routes: a create or delete needs none.
var enrichmentPaths = []string{"/teams/audit-logs", "/teams/daily-usage-data", "/teams/spend"}

// A one-shot create or delete asks Cursor only what its decision needs
// (issue 16.1): no enrichment request, at most one roster read, and for a
// SCIM-managed person (a create, a delete of a SCIM user) SCIM requests only.
// Each run is counted by the tenant, request by request.
func TestOneShotProvisioningRequests(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	cases := []struct {
		name     string
		args     func(*simulator.Tenant) []string
		env      []string
		scimOnly bool // no Admin API request at all
		remove   int  // remove-member requests
	}{
		{name: "create", scimOnly: true, args: func(*simulator.Tenant) []string {
			return createArgs("new.hire@example.com", "New", "Hire")
		}},
		{name: "delete of a SCIM-managed member", scimOnly: true, args: func(t *simulator.Tenant) []string {
			return deleteArgs(strings.ToLower(t.Members()[simulator.RowSCIMActive].Email))
		}},
		{name: "delete of an absent person", args: func(*simulator.Tenant) []string { return deleteArgs("nobody@nowhere.test") }},
		{name: "removal of a dashboard member", env: []string{"BATON_CURSOR_REMOVE_UNMANAGED=true"}, remove: 1,
			args: func(t *simulator.Tenant) []string {
				return deleteArgs(strings.ToLower(t.Members()[simulator.RowDashboardOnly].Email))
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: int64(40 + i)})
			r := runCursor(t, base, scimEnv(base, token, tc.env...), tc.args(tenant)...)
			requireOK(t, tc.name, r)
			counts := allRequests(t, base)
			admin := 0
			for k, n := range counts {
				if !strings.Contains(k, "/scim/v2") {
					admin += n
				}
			}
			enrichment := 0
			for _, p := range enrichmentPaths {
				enrichment += counts[p]
			}
			if enrichment != 0 || counts[membersPath] > 1 || counts[keyRemoveMember] != tc.remove || scimRequests(counts) == 0 {
				t.Errorf("%s made %d enrichment requests, %d roster reads, %d remove-member; want 0, at most 1, %d (requests %v)",
					tc.name, enrichment, counts[membersPath], counts[keyRemoveMember], tc.remove, counts)
			}
			if tc.scimOnly && admin != 0 {
				t.Errorf("%s made %d Admin API requests, want SCIM requests only (requests %s)", tc.name, admin, fmt.Sprint(counts))
			}
		})
	}
}
