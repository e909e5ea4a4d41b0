package e2e

import (
	"bytes"
	"slices"
	"testing"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// A sync with SCIM lists the directory in pages as large as the server
// allows, several at a time. Whatever the server's page cap, the c1z must be
// the same: here 41 pages of 37 (fetched 4 at a time) against the 2 pages of
// 1000 the connector asks for when the server does not cap them.
func TestSyncWithSCIMSamePagedOrNot(t *testing.T) {
	t.Parallel()
	const members, seed = 3000, 31
	token := scimTestToken()
	run := func(maxResults int) ([]byte, int, int) {
		tenant, base := newSCIMTenant(t, simulator.Config{Members: members, Seed: seed, SCIMMaxResults: maxResults})
		c, _, _ := syncWith(t, base, scimEnv(base, token))
		managed := 0
		for _, u := range c.OfType("user") {
			if u.GetProfile().GetFields()["scim_managed"].GetBoolValue() {
				managed++
			}
		}
		lines := bytes.Split(dumpContents(t, c), []byte("\n"))
		slices.SortFunc(lines, bytes.Compare)
		return bytes.Join(lines, []byte("\n")), tenant.Requests(keySCIMList), managed
	}
	capped, cappedLists, managed := run(37)
	whole, wholeLists, _ := run(simulator.MaxMembers)
	if cappedLists != 41 || wholeLists != 2 {
		t.Errorf("SCIM list requests: %d with pages of 37, %d uncapped; want 41 and 2 (1,501 SCIM users)", cappedLists, wholeLists)
	}
	if managed != 1501 {
		t.Errorf("%d users are SCIM-managed in the c1z, want every one of the tenant's 1,501 SCIM users", managed)
	}
	if !bytes.Equal(capped, whole) {
		t.Errorf("the c1z synced in pages of 37 differs from the one synced in pages of 1000 (%d vs %d bytes of resources, entitlements and grants)", len(capped), len(whole))
	}
}
