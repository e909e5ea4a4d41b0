package connector

import (
	"context"
	"fmt"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/types/entitlement"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// OrgTeamResourceType is a team of the organization. Its team roles are its
// entitlements (a team is a scope with roles: "who owns team X" is one
// entitlement's grants; global role resources would merge every team's
// owners). Trait GROUP: baton has no scope trait.
var OrgTeamResourceType = v2.ResourceType_builder{
	Id:          "org_team",
	DisplayName: "Organization team",
	Description: "A team of the Cursor organization; each team role is an entitlement",
	Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_GROUP},
}.Build()

type orgTeamBuilder struct{ conn *Connector }

var _ connectorbuilder.ResourceSyncerV2 = (*orgTeamBuilder)(nil)

func (b *orgTeamBuilder) ResourceType(context.Context) *v2.ResourceType { return OrgTeamResourceType }

// List returns every team in one page (an organization has tens of teams).
func (b *orgTeamBuilder) List(ctx context.Context, _ *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := svc.ListOrgTeams(ctx, &pluginv1.ListOrgTeamsRequest{SyncId: opts.SyncID})
	if err != nil {
		return nil, nil, fmt.Errorf("baton-cursor: list organization teams: %w", err)
	}
	out := make([]*v2.Resource, 0, len(resp.GetTeams()))
	for _, t := range resp.GetTeams() {
		roles := make([]any, 0, len(t.GetRoles()))
		for _, r := range t.GetRoles() {
			roles = append(roles, r)
		}
		// No route names teams (docs/organization.md, open question 1): the id is the name.
		r, err := rs.NewGroupResource("Team "+t.GetId(), OrgTeamResourceType, t.GetId(),
			[]rs.GroupTraitOption{rs.WithGroupProfile(map[string]any{"team_id": t.GetId(), "roles": roles, "members": int64(t.GetMembers())})})
		if err != nil {
			return nil, nil, fmt.Errorf("baton-cursor: map team %s: %w", t.GetId(), err)
		}
		out = append(out, r)
	}
	return out, nil, nil
}

// teamRoles reads the roles List put in the team's profile.
func teamRoles(r *v2.Resource) []string {
	gt, err := rs.GetGroupTrait(r)
	if err != nil {
		return nil
	}
	var out []string
	for _, v := range gt.GetProfile().GetFields()["roles"].GetListValue().GetValues() {
		out = append(out, v.GetStringValue())
	}
	return out
}

// Entitlements: one per team role. Only member is grantable, and only with
// the cursor-organization-id opt-in (org_team_provisioning.go): no API sets
// a team role.
func (b *orgTeamBuilder) Entitlements(_ context.Context, r *v2.Resource, _ rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	var out []*v2.Entitlement
	for _, role := range teamRoles(r) {
		out = append(out, entitlement.NewAssignmentEntitlement(r, role,
			entitlement.WithGrantableTo(UserResourceType),
			entitlement.WithDisplayName(r.GetDisplayName()+" "+role),
			entitlement.WithDescription("Holds the Cursor team role "+role+" on "+r.GetDisplayName())))
	}
	return out, nil, nil
}

// Grants: one per member of the team, on their role's entitlement.
func (b *orgTeamBuilder) Grants(ctx context.Context, r *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	team := r.GetId().GetResource()
	out, next, err := fitPage(ctx, grantPageSize, "grant", func(size int) ([]*v2.Grant, string, error) {
		resp, err := svc.ListOrgMembers(ctx, &pluginv1.ListOrgMembersRequest{
			TeamId: team, PageSize: int32(size), PageToken: opts.PageToken.Token, SyncId: opts.SyncID,
		})
		if err != nil {
			return nil, "", fmt.Errorf("baton-cursor: list members of team %s: %w", team, err)
		}
		out := make([]*v2.Grant, 0, len(resp.GetMembers()))
		for _, m := range resp.GetMembers() {
			for _, t := range m.GetTeams() {
				if t.GetTeamId() == team {
					out = append(out, grant.NewGrant(r, t.GetRole(), userID(m.GetKey())))
				}
			}
		}
		return out, resp.GetNextPageToken(), nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

func userID(key string) *v2.ResourceId {
	return v2.ResourceId_builder{ResourceType: UserResourceType.GetId(), Resource: key}.Build()
}
