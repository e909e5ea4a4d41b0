package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// activeInWindow lists the members (by lower-cased email) with a usage day or
// a login since windowStart, as the simulated tenant holds them; removed
// members' events carry no email (F-REM2), so they are left out.
func activeInWindow(tenant *simulator.Tenant, windowStart time.Time) (active map[string]bool, loginOnly int) {
	active = map[string]bool{}
	members := tenant.Members()
	byUsage := map[string]bool{}
	for i, m := range members {
		if m.IsRemoved {
			continue
		}
		for _, d := range tenant.ActiveDays(i) {
			if !tenant.ActivityToday().AddDate(0, 0, -d).Before(windowStart) {
				byUsage[strings.ToLower(m.Email)] = true
				active[strings.ToLower(m.Email)] = true
			}
		}
	}
	for _, e := range tenant.AuditEvents() {
		key := strings.ToLower(e.UserEmail)
		if e.Type != "login" || key == "" || e.Timestamp.Before(windowStart) || active[key] {
			continue
		}
		active[key] = true
		if !byUsage[key] {
			loginOnly++
		}
	}
	return active, loginOnly
}

// Issue 15.2: at 3,000 members the newest 2,000 login events reach back a
// week or so; members whose only activity in the window is an older login
// were shown no_activity_in_window. No active member is shown inactive, and
// a member whose logins were not read back to the window's start says how
// far they were read instead of claiming no activity. The 10,000-member run
// logs how many active members are left without a known last activity.
func TestNoActivityIsClaimedOnlyForWhatWasRead(t *testing.T) {
	for _, members := range []int{3000, 10_000} {
		t.Run(fmt.Sprintf("%d_members", members), func(t *testing.T) {
			tenant, srv := newTenant(t, simulator.Config{Members: members, Seed: 5})
			c, r, _ := syncOK(t, srv.URL)
			windowStart := time.Now().Add(-30 * 24 * time.Hour) // after the sync's own: never counts more as active
			active, loginOnly := activeInWindow(tenant, windowStart)
			if loginOnly == 0 {
				t.Fatal("no member's only activity in the window is a login; this test needs some")
			}
			removed := map[string]bool{}
			for _, m := range tenant.Members() {
				removed[strings.ToLower(m.Email)] = m.IsRemoved
			}
			shownInactive, unknownLast, partial, spendUnknown := 0, 0, 0, 0
			for _, u := range c.OfType("user") {
				p := profileOf(t, u)
				claim, has := p["no_activity_in_window"]
				if !has && p["usage_unknown"] != true && p["logins_unknown"] != true && !removed[u.GetId().GetResource()] {
					// Removed members' events carry no email: their coverage is the newest pages'.
					partial++
					if _, ok := p["logins_read_since"].(string); !ok {
						t.Errorf("%s: no no_activity_in_window and no logins_read_since: profile %v", u.GetId().GetResource(), p)
					}
				}
				if p["spend_unknown"] == true && !removed[u.GetId().GetResource()] {
					spendUnknown++
				}
				if !active[u.GetId().GetResource()] {
					continue
				}
				if claim == true {
					shownInactive++
				}
				if lastLoginOf(t, u).IsZero() {
					unknownLast++
				}
			}
			t.Logf("%d members, %d active in the window (%d by a login only): %d shown no_activity_in_window, %d without a known last activity; %d members not removed with login coverage short of the window, %d with spend unknown; %d activity requests",
				members, len(active), loginOnly, shownInactive, unknownLast, partial, spendUnknown, activityRequests(tenant))
			for _, line := range strings.Split(r.out.String(), "\n") {
				if strings.Contains(line, "member activity") {
					t.Log(line)
				}
			}
			if shownInactive > 0 {
				t.Errorf("%d of %d members active in the window are shown no_activity_in_window: true", shownInactive, len(active))
			}
			if members == 3000 && (unknownLast > 0 || partial > 0) {
				t.Errorf("at 3,000 members (the budget covers them): %d of %d active members have no known last activity, %d members' logins were not read back to the window's start", unknownLast, len(active), partial)
			}
			if sent := activityRequests(tenant); sent > 18 {
				t.Errorf("%d activity requests, budget 18", sent)
			}
		})
	}
}
