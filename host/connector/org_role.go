package connector

import (
	"context"
	"fmt"
	"slices"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// OrgRoleResourceType is the organization role (admin, member), apart from
// team roles: an organization admin may be on no team and still appears.
var OrgRoleResourceType = v2.ResourceType_builder{
	Id:          "org_role",
	DisplayName: "Organization role",
	Description: "A Cursor organization role; each person of the organization holds one",
	Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_ROLE},
}.Build()

type orgRole struct{ id, name, desc string }

var orgRoles = []orgRole{
	{"admin", "Organization admin", "Administers the Cursor organization: its teams, groups and keys"},
	{"member", "Organization member", "A person of the Cursor organization"},
}

type orgRoleBuilder struct{ conn *Connector }

var _ connectorbuilder.ResourceSyncerV2 = (*orgRoleBuilder)(nil)

func (b *orgRoleBuilder) ResourceType(context.Context) *v2.ResourceType { return OrgRoleResourceType }

// List: admin and member, and any other role string a member holds (as
// team roles do), so every person's role has a grant.
func (b *orgRoleBuilder) List(ctx context.Context, _ *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := svc.ListOrgTeams(ctx, &pluginv1.ListOrgTeamsRequest{SyncId: opts.SyncID}) // the sync's member snapshot: no extra request
	if err != nil {
		return nil, nil, fmt.Errorf("baton-cursor: list organization roles: %w", err)
	}
	roles := slices.Clone(orgRoles)
	for _, id := range resp.GetOrganizationRoles() {
		if !slices.ContainsFunc(roles, func(r orgRole) bool { return r.id == id }) {
			roles = append(roles, orgRole{id, "Organization role " + id, "A Cursor organization role this connector does not know; shown as Cursor names it"})
		}
	}
	out := make([]*v2.Resource, 0, len(roles))
	for _, role := range roles {
		r, err := rs.NewRoleResource(role.name, OrgRoleResourceType, role.id,
			[]rs.RoleTraitOption{rs.WithRoleProfile(map[string]any{"organization_role": role.id})},
			rs.WithDescription(role.desc))
		if err != nil {
			return nil, nil, fmt.Errorf("baton-cursor: map organization role %s: %w", role.id, err)
		}
		out = append(out, r)
	}
	return out, nil, nil
}

// Entitlements: holding the role (as a team role's; not grantable through Cursor's API).
func (b *orgRoleBuilder) Entitlements(_ context.Context, r *v2.Resource, _ rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return []*v2.Entitlement{RoleEntitlement(r)}, nil, nil
}

// Grants: one per person with the role.
func (b *orgRoleBuilder) Grants(ctx context.Context, r *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	role := r.GetId().GetResource()
	out, next, err := fitPage(ctx, grantPageSize, "grant", func(size int) ([]*v2.Grant, string, error) {
		resp, err := svc.ListOrgMembers(ctx, &pluginv1.ListOrgMembersRequest{
			OrganizationRole: role, PageSize: int32(size), PageToken: opts.PageToken.Token, SyncId: opts.SyncID,
		})
		if err != nil {
			return nil, "", fmt.Errorf("baton-cursor: list organization %ss: %w", role, err)
		}
		out := make([]*v2.Grant, 0, len(resp.GetMembers()))
		for _, m := range resp.GetMembers() {
			out = append(out, grant.NewGrant(r, assignedEntitlement, userID(m.GetKey())))
		}
		return out, resp.GetNextPageToken(), nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}
