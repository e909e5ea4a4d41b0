//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

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

// A SCIM server whose second page always holds one user fewer than its
// totalResults promises: the listing is read twice, then the sync fails
// (exit 10) saying so, rather than writing a c1z that lacks that user.
func TestSyncWithSCIMListingShortOfItsTotalFails(t *testing.T) {
	t.Parallel()
	token := scimTestToken()
	tenant, err := simulator.New(simulator.Config{Members: 3000, Seed: 32, APIKey: testKey(), SCIMToken: token})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/scim/v2/Users" || r.URL.Query().Get("startIndex") != "101" {
			tenant.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		tenant.ServeHTTP(rec, r)
		var page map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Errorf("page at startIndex=101: %v", err)
		}
		users, _ := page["Resources"].([]any)
		page["Resources"] = users[:len(users)-1]
		w.Header().Set("Content-Type", "application/scim+json")
		_ = json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(srv.Close)
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(testKey()), Env: scimEnv(srv.URL, token)}, 120*time.Second)
	fxRequireExit(t, r, exitAborted)
	requireFailure(t, r, "Cursor's SCIM endpoint listed its users inconsistently twice",
		"startIndex=101 returned 99 users where 100 were due", "sync again later")
	requireNoFinishedSync(t, c1z)
	if n := tenant.Requests(keySCIMList); n < 4 {
		t.Errorf("SCIM list requests: %d, want the first two pages twice at least", n)
	}
}
