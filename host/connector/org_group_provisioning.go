package connector

import (
	"context"
	"fmt"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/host/oneshot"
)

var _ connectorbuilder.ResourceProvisionerV2Limited = (*groupBuilder)(nil)

// groupCursorID is the id the group's routes take: the profile's cursor_id
// when the resource carries it (a c1z's does), else the resource id (the
// same for team groups; an organization group's publicId otherwise).
func groupCursorID(r *v2.Resource) string {
	if gt, err := rs.GetGroupTrait(r); err == nil {
		if id := gt.GetProfile().GetFields()["cursor_id"].GetStringValue(); id != "" {
			return id
		}
	}
	return r.GetId().GetResource()
}

func (b *groupBuilder) principal(id *v2.ResourceId) (string, error) {
	if b.conn.provisioningOff {
		return "", errProvisioningOff
	}
	if id.GetResourceType() != UserResourceType.GetId() {
		return "", status.Errorf(codes.InvalidArgument, "baton-cursor: only users can be members of a %s, not %q", b.rt.GetDisplayName(), id.GetResourceType())
	}
	return id.GetResource(), nil
}

// Grant puts a user in the group; one already in it is a success.
func (b *groupBuilder) Grant(ctx context.Context, principal *v2.Resource, ent *v2.Entitlement) ([]*v2.Grant, annotations.Annotations, error) {
	email, err := b.principal(principal.GetId())
	if err != nil {
		return nil, nil, err
	}
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	group := ent.GetResource()
	resp, err := svc.AddOrgGroupMember(ctx, &pluginv1.AddOrgGroupMemberRequest{Kind: b.kind, GroupId: groupCursorID(group), Email: email})
	if err != nil {
		return nil, nil, fmt.Errorf("baton-cursor: grant %s: %w", ent.GetDisplayName(), err)
	}
	ctxzap.Extract(ctx).Info(resp.GetMessage())
	oneshot.Outcome(ctx, resp.GetMessage())
	var annos annotations.Annotations
	if resp.GetAlreadyMember() {
		annos.Update(&v2.GrantAlreadyExists{})
	}
	return []*v2.Grant{grant.NewGrant(group, memberEntitlement, principal.GetId())}, annos, nil
}

// Revoke takes the user out of the group; one not in it is a success.
func (b *groupBuilder) Revoke(ctx context.Context, g *v2.Grant) (annotations.Annotations, error) {
	email, err := b.principal(g.GetPrincipal().GetId())
	if err != nil {
		return nil, err
	}
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := svc.RemoveOrgGroupMember(ctx, &pluginv1.RemoveOrgGroupMemberRequest{Kind: b.kind, GroupId: groupCursorID(g.GetEntitlement().GetResource()), Email: email})
	if err != nil {
		return nil, fmt.Errorf("baton-cursor: revoke %s: %w", g.GetId(), err)
	}
	ctxzap.Extract(ctx).Info(resp.GetMessage())
	oneshot.Outcome(ctx, resp.GetMessage())
	var annos annotations.Annotations
	if resp.GetAlreadyAbsent() {
		annos.Update(&v2.GrantAlreadyRevoked{})
	}
	return annos, nil
}
