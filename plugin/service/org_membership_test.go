package service

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// bothKeys is a Server holding the team and organization keys, against a
// simulated organization of 300 people.
func bothKeys(t *testing.T) (*Server, *simulator.Tenant) {
	t.Helper()
	tenant, err := simulator.New(simulator.Config{APIKey: testKey, Members: 5, Org: simulator.OrgConfig{APIKey: testOrgKey, People: 300, RateLimit: -1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	s := New("test", hclog.NewNullLogger())
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: testKey, OrgApiKey: testOrgKey, BaseUrl: srv.URL, DeferKeyCheck: true}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s, tenant
}

// outsider is the first person (lower-case email, on team want when
// non-zero) who is not in group.
func outsider(t *testing.T, tenant *simulator.Tenant, group string, team int64) string {
	t.Helper()
	in := tenant.OrgGroupMembers(group)
	for _, p := range tenant.OrgPeople() {
		_, onTeam := p.Teams[team]
		if p.Email == strings.ToLower(p.Email) && !slices.Contains(in, p.Email) && (team == 0 || onTeam) {
			return p.Email
		}
	}
	t.Fatalf("everyone is in %s", group)
	return ""
}

func TestOrgGroupGrantRevokeIdempotent(t *testing.T) {
	s, tenant := bothKeys(t)
	ctx := context.Background()
	org := pluginv1.GroupKind_GROUP_KIND_ORGANIZATION
	email := outsider(t, tenant, "g_3", 0)
	add := &pluginv1.AddOrgGroupMemberRequest{Kind: org, GroupId: "g_3", Email: strings.ToUpper(email)}
	resp, err := s.AddOrgGroupMember(ctx, add)
	if err != nil || resp.GetAlreadyMember() || !strings.Contains(resp.GetMessage(), `"Contractors"`) {
		t.Fatalf("grant = %v, %v; want added to Contractors", resp, err)
	}
	if !slices.Contains(tenant.OrgGroupMembers("g_3"), email) {
		t.Fatalf("%s is not in g_3 after the grant", email)
	}
	adds := tenant.Requests("/organizations/groups/g_3/members/bulk-add")
	if resp, err := s.AddOrgGroupMember(ctx, add); err != nil || !resp.GetAlreadyMember() {
		t.Fatalf("second grant = %v, %v; want already a member", resp, err)
	}
	if n := tenant.Requests("/organizations/groups/g_3/members/bulk-add"); n != adds || adds != 1 {
		t.Fatalf("bulk-add sent %d times after two grants, want 1", n)
	}
	rm := &pluginv1.RemoveOrgGroupMemberRequest{Kind: org, GroupId: "g_3", Email: email}
	if resp, err := s.RemoveOrgGroupMember(ctx, rm); err != nil || resp.GetAlreadyAbsent() {
		t.Fatalf("revoke = %v, %v; want removed", resp, err)
	}
	if slices.Contains(tenant.OrgGroupMembers("g_3"), email) {
		t.Fatalf("%s is still in g_3 after the revoke", email)
	}
	if resp, err := s.RemoveOrgGroupMember(ctx, rm); err != nil || !resp.GetAlreadyAbsent() {
		t.Fatalf("second revoke = %v, %v; want already absent", resp, err)
	}
	if n := tenant.Requests("/organizations/groups/g_3/members/bulk-remove"); n != 1 {
		t.Fatalf("bulk-remove sent %d times after two revokes, want 1", n)
	}
}

func TestOrgGroupWriteRefusals(t *testing.T) {
	s, tenant := bothKeys(t)
	ctx := context.Background()
	org := pluginv1.GroupKind_GROUP_KIND_ORGANIZATION
	cases := []struct {
		name  string
		req   *pluginv1.AddOrgGroupMemberRequest
		code  codes.Code
		words string
	}{
		{"SCIM-synced group", &pluginv1.AddOrgGroupMemberRequest{Kind: org, GroupId: "g_4", Email: outsider(t, tenant, "g_4", 0)}, codes.FailedPrecondition, "identity provider"},
		{"unknown person", &pluginv1.AddOrgGroupMemberRequest{Kind: org, GroupId: "g_3", Email: "nobody@nowhere.example"}, codes.NotFound, "nobody@nowhere.example is not a member of the Cursor organization"},
		{"unknown group", &pluginv1.AddOrgGroupMemberRequest{Kind: org, GroupId: "g_99", Email: "nobody@nowhere.example"}, codes.NotFound, "no group g_99"},
		{"not an email", &pluginv1.AddOrgGroupMemberRequest{Kind: org, GroupId: "g_3", Email: "dana"}, codes.InvalidArgument, "not an email"},
	}
	for _, c := range cases {
		_, err := s.AddOrgGroupMember(ctx, c.req)
		if status.Code(err) != c.code || !strings.Contains(err.Error(), c.words) {
			t.Errorf("%s: %v, want %v naming %q", c.name, err, c.code, c.words)
		}
	}
	if n := tenant.Requests("/organizations/groups/g_4/members/bulk-add"); n != 0 {
		t.Errorf("the SCIM-synced group was sent %d bulk-adds, want none", n)
	}
}

func TestTeamGroupWrites(t *testing.T) {
	s, tenant := bothKeys(t)
	ctx := context.Background()
	dir, billing := pluginv1.GroupKind_GROUP_KIND_TEAM_DIRECTORY, pluginv1.GroupKind_GROUP_KIND_BILLING
	email := outsider(t, tenant, "team_group_1", simulator.OrgTeamBase)
	if _, err := s.AddOrgGroupMember(ctx, &pluginv1.AddOrgGroupMemberRequest{Kind: dir, GroupId: "team_group_1", Email: email}); err != nil {
		t.Fatalf("directory group grant: %v", err)
	}
	if !slices.Contains(tenant.OrgGroupMembers("team_group_1"), email) {
		t.Fatalf("%s is not in team_group_1 after the grant", email)
	}
	_, err := s.AddOrgGroupMember(ctx, &pluginv1.AddOrgGroupMemberRequest{Kind: dir, GroupId: "team_group_3", Email: outsider(t, tenant, "team_group_3", simulator.OrgTeamBase)})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "identity provider") {
		t.Errorf("SCIM-synced directory group: %v, want FailedPrecondition naming the identity provider", err)
	}

	// A person in R&D granted Sales: refused, naming R&D; after the revoke of R&D the grant goes through.
	rd := tenant.OrgGroupMembers("group_1")[0]
	_, err = s.AddOrgGroupMember(ctx, &pluginv1.AddOrgGroupMemberRequest{Kind: billing, GroupId: "group_2", Email: rd})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `"R&D"`) {
		t.Fatalf("billing grant of a person in another billing group: %v, want FailedPrecondition naming R&D", err)
	}
	if _, err := s.RemoveOrgGroupMember(ctx, &pluginv1.RemoveOrgGroupMemberRequest{Kind: billing, GroupId: "group_1", Email: rd}); err != nil {
		t.Fatalf("billing revoke: %v", err)
	}
	if _, err := s.AddOrgGroupMember(ctx, &pluginv1.AddOrgGroupMemberRequest{Kind: billing, GroupId: "group_2", Email: rd}); err != nil {
		t.Fatalf("billing grant after the revoke: %v", err)
	}
	if !slices.Contains(tenant.OrgGroupMembers("group_2"), rd) || slices.Contains(tenant.OrgGroupMembers("group_1"), rd) {
		t.Fatalf("%s: in Sales %v, in R&D %v; want Sales only", rd, tenant.OrgGroupMembers("group_2"), tenant.OrgGroupMembers("group_1"))
	}
}

// cursor-organization-id is the opt-in to team membership writes: it needs
// the organization key and an org_ id, and without it the writes say so.
func TestOrganizationIDSetting(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		req   *pluginv1.ConfigureRequest
		words string
	}{
		{&pluginv1.ConfigureRequest{ApiKey: testKey, OrganizationId: "org_1", DeferKeyCheck: true}, "needs cursor-org-api-key"},
		{&pluginv1.ConfigureRequest{OrgApiKey: testOrgKey, OrganizationId: "acme", DeferKeyCheck: true}, "starts with org_"},
	} {
		_, err := New("test", hclog.NewNullLogger()).Configure(ctx, c.req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.words) {
			t.Errorf("Configure(organization_id %q): %v, want InvalidArgument naming %q", c.req.GetOrganizationId(), err, c.words)
		}
	}
	s, tenant := bothKeys(t)
	_, err := s.AddOrgTeamMember(ctx, &pluginv1.AddOrgTeamMemberRequest{TeamId: "102", Email: tenant.OrgPeople()[0].Email})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "cursor-organization-id") {
		t.Errorf("a team write without the opt-in: %v, want FailedPrecondition naming cursor-organization-id", err)
	}
	if n := tenant.Requests("/organizations/team-memberships/sync"); n != 0 {
		t.Errorf("team-memberships/sync got %d requests, want none", n)
	}
}
