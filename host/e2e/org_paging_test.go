//go:build linux

package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// An organization larger than one minute of the organization key's limit,
// at Cursor's real pace: the simulator answers 429 past 20 requests a
// minute per key, and the sync needs 25 member pages alone (plus the
// groups'), so it must wait out at least one window (about 65-80 s). The
// sync finishes with every person, the plugin hands back to baton-sdk
// ("come back at") instead of blocking and resumes at the page it handed
// back (no page read twice), nothing is answered 429, and the log gives
// the member request count.
func TestOrgSyncPagesAtTheRateLimit(t *testing.T) {
	t.Parallel()
	const people = 5000
	tenant, srv := newTenant(t, simulator.Config{Members: 30, Org: simulator.OrgConfig{APIKey: orgKey(), People: people, RateLimit: 20}})
	started := time.Now()
	c, r := orgSyncEnv(t, srv.URL, nil)
	took := time.Since(started)
	t.Logf("organization sync of %d people: %s, %d member requests", people, took, tenant.Requests("/organizations/members"))

	requireEveryPersonAUser(t, c, tenant)
	pages := (people + 199) / 200
	if n := tenant.Requests("/organizations/members"); n != pages {
		t.Errorf("/organizations/members was asked %d times, want %d pages (each once: the sync resumed at the page it handed back)", n, pages)
	}
	if _, ok := anyLine(r.out.String(), "organization members read", `"requests_this_sync":`+strconv.Itoa(pages)+","); !ok {
		t.Errorf("no members-read line gives requests_this_sync %d; output:\n%s", pages, tail(r.out.String(), 30))
	}
	if _, ok := anyLine(r.out.String(), "handing back to baton-sdk"); !ok {
		t.Errorf("the plugin never handed back to baton-sdk; output:\n%s", tail(r.out.String(), 30))
	}
	if strings.Contains(r.out.String(), "sync failed") {
		t.Errorf("a sync failed; output:\n%s", tail(r.out.String(), 30))
	}
	if n := tenant.OrgRateLimited(); n != 0 {
		t.Errorf("the organization routes answered 429 %d times, want 0", n)
	}
	if took < time.Minute {
		t.Errorf("the sync took %s, less than Cursor's one-minute window: it cannot have stayed under the limit", took)
	}
}
