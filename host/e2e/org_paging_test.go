//go:build linux

package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
	pluginservice "github.com/conductorone/baton-cursor/plugin/service"
)

// An organization larger than one window of the organization key's limit:
// the simulator answers 429 past 20 requests per window (8 s here, for a
// short test; Cursor's is a minute, and the plugin is told the same window),
// and the sync needs 25 member pages alone. The sync finishes with every
// person, the plugin hands back to baton-sdk ("come back at") instead of
// blocking, nothing is answered 429, and the log's member request count is
// ceil(people/200).
func TestOrgSyncPagesAtTheRateLimit(t *testing.T) {
	const people, window = 5000, 8 * time.Second
	tenant, srv := newTenant(t, simulator.Config{Members: 30, Org: simulator.OrgConfig{APIKey: orgKey(), People: people, RateLimit: 20, RateWindow: window}})
	started := time.Now()
	c, r := orgSyncEnv(t, srv.URL, []string{pluginservice.OrgPaceWindowEnv + "=" + window.String()})
	took := time.Since(started)

	requireEveryPersonAUser(t, c, tenant)
	pages := (people + 199) / 200
	if n := tenant.Requests("/organizations/members"); n != pages {
		t.Errorf("/organizations/members was asked %d times, want %d pages", n, pages)
	}
	if _, ok := anyLine(r.out.String(), "organization members read", `"requests_this_sync":`+strconv.Itoa(pages)+","); !ok {
		t.Errorf("no members-read line gives requests_this_sync %d; output:\n%s", pages, tail(r.out.String(), 30))
	}
	if _, ok := anyLine(r.out.String(), "handing back to baton-sdk"); !ok {
		t.Errorf("the plugin never handed back to baton-sdk; output:\n%s", tail(r.out.String(), 30))
	}
	if n := tenant.OrgRateLimited(); n != 0 {
		t.Errorf("the organization routes answered 429 %d times, want 0", n)
	}
	if took < window {
		t.Errorf("the sync took %s, less than one %s window: it cannot have stayed under the limit", took, window)
	}
}
