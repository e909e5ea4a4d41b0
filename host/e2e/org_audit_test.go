//go:build linux

package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// orgGroupAdd adds a person to an organization group in Cursor itself (as an
// admin would), so the organization audit log records it.
func orgGroupAdd(t *testing.T, srvURL, group, publicID string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srvURL+"/organizations/groups/"+group+"/members/bulk-add",
		bytes.NewReader([]byte(`{"userIds":["`+publicID+`"]}`)))
	req.SetBasicAuth(orgKey(), "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bulk-add answered %d", resp.StatusCode)
	}
}

// teamFeedEvents is the team log's events the feed serves, by id.
func teamFeedEvents(tenant *simulator.Tenant, since time.Time) map[string]simulator.AuditEvent {
	want := map[string]simulator.AuditEvent{}
	for _, e := range tenant.AuditEvents() {
		switch {
		case e.Timestamp.Before(since), e.Type == "login" && e.UserEmail == "":
		case e.Type == "login", e.Type == "add_user", e.Type == "remove_user", e.Type == "update_user_role":
			want[e.ID] = e
		}
	}
	return want
}

// With both keys the feed serves the team's log and the organization's: an
// organization group change shows once, as a change of that group, and the
// team's own events, which the organization log holds too, are not repeated
// from it.
func TestEventFeedReadsTheOrganizationAuditLog(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 60, Seed: 5, Org: simulator.OrgConfig{APIKey: orgKey(), People: 80}})
	person := tenant.OrgPeople()[10]
	orgGroupAdd(t, srv.URL, "g_3", person.PublicID) // g_3 is grp_contractors, a manual group
	since := time.Now().Add(-10 * 24 * time.Hour)
	events, _ := runFeedWith(t, srv.URL, since, runOpts{Key: strPtr(testKey()), Env: []string{"BATON_CURSOR_ORG_API_KEY=" + orgKey()}})

	groupChanges := 0
	got := map[string]bool{}
	for _, ev := range events {
		got[ev.GetId()] = true
		if rc := ev.GetResourceChangeEvent(); rc != nil && rc.GetResourceId().GetResourceType() == "org_group" {
			if rc.GetResourceId().GetResource() != "grp_contractors" {
				t.Errorf("group change of %s, want grp_contractors", rc.GetResourceId().GetResource())
			}
			groupChanges++
		}
		if ue := ev.GetUsageEvent(); ue != nil && ue.GetTargetResource().GetId().GetResourceType() != "team" {
			t.Errorf("login %s targets %s %s: the team's own login was served again from the organization log",
				ev.GetId(), ue.GetTargetResource().GetId().GetResourceType(), ue.GetTargetResource().GetId().GetResource())
		}
	}
	if groupChanges != 1 {
		t.Errorf("the organization group change shows %d times in the feed, want once", groupChanges)
	}
	want := teamFeedEvents(tenant, since)
	if len(want) == 0 {
		t.Fatal("the simulated team log has no event in the window")
	}
	for id, e := range want {
		if !got[id] {
			t.Errorf("team event %s (%s) missing from the feed", id, e.Type)
		}
	}
	if len(got) != len(want)+1 {
		t.Errorf("the feed has %d distinct events, want the team's %d and the group change", len(got), len(want))
	}
	if n := tenant.Requests("/organizations/audit-logs"); n == 0 {
		t.Error("the organization audit log was never read")
	}
}

// A refused organization key turns the organization part off, said in a
// line naming the setting; the team's log still serves in full.
func TestEventFeedWithARefusedOrgKeyKeepsTheTeamLog(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 60, Seed: 5, Org: simulator.OrgConfig{APIKey: orgKey(), People: 20}})
	refused := "crsr_org_" + strings.Repeat("r", 56)
	since := time.Now().Add(-10 * 24 * time.Hour)
	events, r := runFeedWith(t, srv.URL, since, runOpts{Key: strPtr(testKey()), Env: []string{"BATON_CURSOR_ORG_API_KEY=" + refused}})
	got := map[string]*v2.Event{}
	for _, ev := range events {
		got[ev.GetId()] = ev
	}
	want := teamFeedEvents(tenant, since)
	if len(got) != len(want) {
		t.Errorf("the feed has %d distinct events, want the team's %d", len(got), len(want))
	}
	if _, ok := anyLine(r.out.String(), "organization audit log part of the event feed is off", "cursor-org-api-key"); !ok {
		t.Errorf("no line says the organization audit log is off; output:\n%s", tail(r.out.String(), 30))
	}
	requireNoSecret(t, "the output", []byte(r.out.String()), refused)
}
