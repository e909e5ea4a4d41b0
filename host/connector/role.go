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

// assignedEntitlement is the one entitlement of every role: holding it.
const assignedEntitlement = "assigned"

// roleBuilder syncs Cursor's team roles. It has no Grant or Revoke: Cursor has
// no API to change a member's role, so baton-cursor never offers it.
type roleBuilder struct{ conn *Connector }

var _ connectorbuilder.ResourceSyncerV2 = (*roleBuilder)(nil)

func (b *roleBuilder) ResourceType(context.Context) *v2.ResourceType { return RoleResourceType }

// List returns the whole role catalogue in one page.
func (b *roleBuilder) List(ctx context.Context, _ *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := svc.ListRoles(ctx, &pluginv1.ListRolesRequest{SyncId: opts.SyncID})
	if err != nil {
		return nil, nil, fmt.Errorf("baton-cursor: list roles: %w", err)
	}
	out := make([]*v2.Resource, 0, len(resp.GetRoles()))
	for _, role := range resp.GetRoles() {
		r, err := RoleResource(role)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return out, nil, nil
}

// Entitlements returns the role's one entitlement.
func (b *roleBuilder) Entitlements(_ context.Context, r *v2.Resource, _ rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return []*v2.Entitlement{RoleEntitlement(r)}, nil, nil
}

// Grants pages through the active members holding the role: one grant each.
func (b *roleBuilder) Grants(ctx context.Context, r *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	role := r.GetId().GetResource()
	out, next, err := fitPage(ctx, grantPageSize, "grant", func(size int) ([]*v2.Grant, string, error) {
		resp, err := svc.ListMembers(ctx, &pluginv1.ListMembersRequest{
			PageSize:  int32(size),
			PageToken: opts.PageToken.Token,
			Role:      role,
			KeysOnly:  true,
			SyncId:    opts.SyncID,
		})
		if err != nil {
			return nil, "", fmt.Errorf("baton-cursor: list members of role %s: %w", role, err)
		}
		out := make([]*v2.Grant, 0, len(resp.GetMembers()))
		for _, m := range resp.GetMembers() {
			out = append(out, RoleGrant(r, m.GetKey()))
		}
		return out, resp.GetNextPageToken(), nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// RoleResource maps a Cursor role to a baton role.
func RoleResource(role *pluginv1.Role) (*v2.Resource, error) {
	r, err := rs.NewRoleResource(role.GetDisplayName(), RoleResourceType, role.GetId(),
		[]rs.RoleTraitOption{rs.WithRoleProfile(map[string]any{
			"cursor_role":    role.GetId(),
			"known":          role.GetKnown(),
			"active_members": int64(role.GetActiveMembers()),
		})},
		rs.WithDescription(role.GetDescription()),
	)
	if err != nil {
		return nil, fmt.Errorf("baton-cursor: map role %s: %w", role.GetId(), err)
	}
	return r, nil
}

// RoleEntitlement is a role's one entitlement: holding it, grantable to users.
func RoleEntitlement(r *v2.Resource) *v2.Entitlement {
	return entitlement.NewAssignmentEntitlement(r, assignedEntitlement,
		entitlement.WithGrantableTo(UserResourceType),
		entitlement.WithDisplayName(r.GetDisplayName()+" role"),
		entitlement.WithDescription("Holds the Cursor "+r.GetDisplayName()+" role"),
	)
}

// RoleGrant says the user with this key holds the role.
func RoleGrant(r *v2.Resource, key string) *v2.Grant {
	return grant.NewGrant(r, assignedEntitlement,
		v2.ResourceId_builder{ResourceType: UserResourceType.GetId(), Resource: key}.Build())
}
