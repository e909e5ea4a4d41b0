package cursororg_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/cursororg"
	"github.com/conductorone/baton-cursor/internal/httpretry"
	"github.com/conductorone/baton-cursor/internal/pace"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const (
	teamKey = "crsr_team_key_for_tests"
	orgKey  = "crsr_org_key_for_tests"
)

// start serves a simulated organization on loopback.
func start(t *testing.T, org simulator.OrgConfig) (*simulator.Tenant, string) {
	t.Helper()
	org.APIKey = orgKey
	if org.RateLimit == 0 {
		org.RateLimit = -1
	}
	tenant, err := simulator.New(simulator.Config{Members: 20, Seed: 7, APIKey: teamKey, Org: org})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return tenant, srv.URL
}

func client(t *testing.T, base, key string, p *pace.Pacer) *cursororg.Client {
	t.Helper()
	if p == nil {
		p = pace.New(0, time.Minute)
	}
	c, err := cursororg.New(cursororg.Config{BaseURL: base, APIKey: key, Pacer: p})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readAll pages /organizations/members from tok to the end, a new client
// per page, as a sync resumed by baton-sdk in another process would.
func readAll(t *testing.T, newClient func() *cursororg.Client) map[string]cursororg.Member {
	t.Helper()
	seen := map[string]cursororg.Member{}
	for tok, first := "", true; first || tok != ""; first = false {
		p, err := newClient().MembersPage(context.Background(), cursororg.MemberFilter{}, tok)
		if err != nil {
			t.Fatal(err)
		}
		if p.Changed {
			t.Fatal("the organization did not change, but a page said it did")
		}
		for _, m := range p.Items {
			if _, dup := seen[m.Key()]; dup {
				t.Fatalf("%s listed twice", m.Key())
			}
			seen[m.Key()] = m
		}
		tok = p.Next
	}
	return seen
}

func TestMembersPagedAtTheRateLimitWithoutA429(t *testing.T) {
	// 1,000 people are 5 pages of 200; the server allows 2 a window, the pacer asks for no more.
	window := 300 * time.Millisecond
	tenant, base := start(t, simulator.OrgConfig{People: 1000, RateLimit: 2, RateWindow: window})
	p := pace.New(2, window)
	seen := readAll(t, func() *cursororg.Client { return client(t, base, orgKey, p) })
	if len(seen) != 1000 {
		t.Fatalf("read %d people, want 1000", len(seen))
	}
	if n := tenant.OrgRateLimited(); n != 0 {
		t.Errorf("the server sent %d 429s to a paced client", n)
	}
	if got := p.Requests(); got != 5 {
		t.Errorf("request count %d, want 5 (1,000 people / 200 a page)", got)
	}
	for _, want := range tenant.OrgPeople() {
		got, ok := seen[strings.ToLower(want.Email)]
		if !ok || got.OrganizationRole != want.OrgRole || len(got.Teams) != len(want.Teams) {
			t.Fatalf("%s: got %+v, want role %s and %d teams", want.Email, got, want.OrgRole, len(want.Teams))
		}
	}
}

func TestUnpacedClientWaitsOutRetryAfter(t *testing.T) {
	tenant, base := start(t, simulator.OrgConfig{People: 600, RateLimit: 1, RateWindow: time.Second})
	p := pace.New(0, time.Second) // no pacing: every 429 is met by Retry-After
	seen := readAll(t, func() *cursororg.Client { return client(t, base, orgKey, p) })
	if len(seen) != 600 {
		t.Fatalf("read %d people, want 600", len(seen))
	}
	if tenant.OrgRateLimited() == 0 || p.RateLimited() != int64(tenant.OrgRateLimited()) {
		t.Errorf("429s: server sent %d, client saw %d; want some, counted alike", tenant.OrgRateLimited(), p.RateLimited())
	}
	if p.Requests() != 3+p.RateLimited() {
		t.Errorf("request count %d, want 3 pages + %d retries", p.Requests(), p.RateLimited())
	}
}

func TestWrongKindOfKeyNamesTheSetting(t *testing.T) {
	_, base := start(t, simulator.OrgConfig{People: 10})
	_, err := client(t, base, teamKey, nil).MembersPage(context.Background(), cursororg.MemberFilter{}, "")
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "the Organization API key was rejected") ||
		!strings.Contains(err.Error(), cursororg.Setting) || strings.Contains(err.Error(), teamKey) {
		t.Errorf("team key on an org route: %v (%s)", err, status.Code(err))
	}
	team, err := cursorapi.New(cursorapi.Config{BaseURL: base, APIKey: orgKey, Retry: httpretry.Policy{Backoff: []time.Duration{}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = team.BillingGroups(context.Background())
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "cursor-api-key") || strings.Contains(err.Error(), orgKey) {
		t.Errorf("org key on a team route: %v (%s)", err, status.Code(err))
	}
	if _, err := cursororg.New(cursororg.Config{APIKey: orgKey + ":"}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), cursororg.Setting) {
		t.Errorf("a key with ':': %v", err)
	}
}

func TestBulkAddSendsChunksOf100AndIsIdempotent(t *testing.T) {
	tenant, base := start(t, simulator.OrgConfig{People: 2000})
	c := client(t, base, orgKey, nil)
	var ids []string
	for _, p := range tenant.OrgPeople()[:250] {
		ids = append(ids, p.PublicID)
	}
	before := len(tenant.OrgGroupMembers("g_3"))
	added, err := c.AddGroupMembers(context.Background(), "g_3", ids)
	if err != nil {
		t.Fatal(err)
	}
	if got := tenant.Requests("/organizations/groups/g_3/members/bulk-add"); got != 3 {
		t.Errorf("%d bulk-add requests for 250 ids, want 3", got)
	}
	if after := len(tenant.OrgGroupMembers("g_3")); added != after-before || after < 250 {
		t.Errorf("addedCount %d, group grew %d -> %d", added, before, after)
	}
	if again, err := c.AddGroupMembers(context.Background(), "g_3", ids); err != nil || again != 0 {
		t.Errorf("adding the same people again: added %d, %v; want 0, nil", again, err)
	}
	if removed, err := c.RemoveGroupMembers(context.Background(), "g_3", ids[:10]); err != nil || removed != 10 {
		t.Errorf("removing 10: %d, %v", removed, err)
	}
}

func TestSCIMSyncedGroupRefusesWithTheIdentityProvider(t *testing.T) {
	tenant, base := start(t, simulator.OrgConfig{People: 50})
	c := client(t, base, orgKey, nil)
	g, err := c.GroupByName(context.Background(), "Okta Sales")
	if err != nil || g == nil || !g.SCIMSynced() || g.Key() != "grp_okta_sales" {
		t.Fatalf("GroupByName: %+v, %v", g, err)
	}
	_, err = c.AddGroupMembers(context.Background(), g.ID, []string{tenant.OrgPeople()[0].PublicID})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "identity provider") {
		t.Errorf("write to a SCIM-synced group: %v (%s)", err, status.Code(err))
	}
	if lc, err := c.GroupByName(context.Background(), "engineering"); err != nil || lc == nil || lc.ID != "g_2" {
		t.Errorf(`GroupByName("engineering") = %+v, %v; want g_2 only, never "Engineering"`, lc, err)
	}
}

func TestTeamMembershipReadModifyWrite(t *testing.T) {
	tenant, base := start(t, simulator.OrgConfig{People: 40})
	c := client(t, base, orgKey, nil)
	ctx := context.Background()
	p := tenant.OrgPeople()[4] // on team 101 only
	if len(p.Teams) != 1 || p.Teams[101] == "" {
		t.Fatalf("seed changed: %+v", p)
	}
	upper := strings.ToUpper(p.Email)
	if sent, err := c.AddToTeam(ctx, simulator.OrgID, upper, "102"); err != nil || !sent {
		t.Fatalf("AddToTeam: %v, %v", sent, err)
	}
	after := tenant.OrgPeople()[4].Teams
	if len(after) != 2 || after[101] != p.Teams[101] || after[102] == "" {
		t.Errorf("teams after adding 102: %v; want 101 kept with its role and 102 added", after)
	}
	syncs := tenant.Requests("/organizations/team-memberships/sync")
	if sent, err := c.AddToTeam(ctx, simulator.OrgID, p.Email, "102"); err != nil || sent {
		t.Errorf("adding a team already held: sent %v, %v; want nothing sent", sent, err)
	}
	if sent, err := c.RemoveFromTeam(ctx, simulator.OrgID, p.Email, "103"); err != nil || sent {
		t.Errorf("removing a team not held: sent %v, %v; want nothing sent", sent, err)
	}
	if got := tenant.Requests("/organizations/team-memberships/sync"); got != syncs {
		t.Errorf("no-op changes sent %d syncs", got-syncs)
	}
	if _, err := c.AddToTeam(ctx, simulator.OrgID, p.Email, "104"); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "identity provider") {
		t.Errorf("adding to the SCIM-managed team: %v", err)
	}
	if _, err := c.RemoveFromTeam(ctx, simulator.OrgID, p.Email, "102"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveFromTeam(ctx, simulator.OrgID, p.Email, "101"); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "only team") {
		t.Errorf("removing the last team: %v", err)
	}
	if _, err := c.AddToTeam(ctx, "", p.Email, "102"); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), cursororg.OrganizationIDSetting) {
		t.Errorf("no organization id: %v", err)
	}
}

func TestTeamGroupsWithTheTeamKey(t *testing.T) {
	_, base := start(t, simulator.OrgConfig{People: 400})
	team, err := cursorapi.New(cursorapi.Config{BaseURL: base, APIKey: teamKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dgs, err := team.DirectoryGroups(ctx)
	if err != nil || len(dgs) != 3 || !dgs[2].SCIMSynced() || dgs[0].SCIMSynced() {
		t.Fatalf("DirectoryGroups: %+v, %v", dgs, err)
	}
	groups, unassigned, err := team.BillingGroups(ctx)
	if err != nil || len(groups) != 3 {
		t.Fatalf("BillingGroups: %v", err)
	}
	in := map[string]string{}
	for _, g := range append(groups, unassigned) {
		for _, m := range g.CurrentMembers {
			if was, dup := in[m.UserID]; dup {
				t.Fatalf("%s is in billing groups %s and %s", m.UserID, was, g.ID)
			}
			in[m.UserID] = g.ID
		}
	}
	mover := groups[1].CurrentMembers[0].UserID
	err = team.AddBillingGroupMembers(ctx, groups[0].ID, []string{mover})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "another billing group") {
		t.Errorf("adding someone in another billing group: %v", err)
	}
	if err := team.RemoveBillingGroupMembers(ctx, groups[1].ID, []string{mover}); err != nil {
		t.Fatal(err)
	}
	if err := team.AddBillingGroupMembers(ctx, groups[0].ID, []string{mover}); err != nil {
		t.Errorf("adding after leaving the other group: %v", err)
	}
	if err := team.AddBillingGroupMembers(ctx, groups[2].ID, []string{mover}); status.Code(err) == codes.OK {
		t.Error("a SCIM-linked billing group took a member")
	}
}
