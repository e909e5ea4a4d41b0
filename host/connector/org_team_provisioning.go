package connector

import (
	"context"
	"fmt"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/host/oneshot"
)

var _ connectorbuilder.ResourceProvisionerV2Limited = (*orgTeamBuilder)(nil)

// teamMember is the one team entitlement a grant can give: being on the
// team with Cursor's default role. No API sets a team role.
func (b *orgTeamBuilder) teamMember(ent *v2.Entitlement, principal *v2.ResourceId) (team, email string, err error) {
	if b.conn.provisioningOff {
		return "", "", errProvisioningOff
	}
	if principal.GetResourceType() != UserResourceType.GetId() {
		return "", "", status.Errorf(codes.InvalidArgument, "baton-cursor: only users can be on a team, not %q", principal.GetResourceType())
	}
	role := ent.GetSlug()
	if role == "" {
		role = ent.GetId()[strings.LastIndex(ent.GetId(), ":")+1:]
	}
	if role != "member" {
		return "", "", status.Errorf(codes.FailedPrecondition,
			"baton-cursor: %s cannot be granted or revoked: no Cursor API sets a team role; only a team's member entitlement changes membership", ent.GetId())
	}
	return ent.GetResource().GetId().GetResource(), principal.GetResource(), nil
}

// Grant puts a user on the team, keeping their other teams.
func (b *orgTeamBuilder) Grant(ctx context.Context, principal *v2.Resource, ent *v2.Entitlement) ([]*v2.Grant, annotations.Annotations, error) {
	team, email, err := b.teamMember(ent, principal.GetId())
	if err != nil {
		return nil, nil, err
	}
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := svc.AddOrgTeamMember(ctx, &pluginv1.AddOrgTeamMemberRequest{TeamId: team, Email: email})
	if err != nil {
		return nil, nil, fmt.Errorf("baton-cursor: grant %s: %w", ent.GetId(), err)
	}
	ctxzap.Extract(ctx).Info(resp.GetMessage())
	oneshot.Outcome(ctx, resp.GetMessage())
	var annos annotations.Annotations
	if resp.GetAlreadyMember() {
		annos.Update(&v2.GrantAlreadyExists{})
	}
	return []*v2.Grant{grant.NewGrant(ent.GetResource(), "member", principal.GetId())}, annos, nil
}

// Revoke takes a user off the team, keeping their other teams.
func (b *orgTeamBuilder) Revoke(ctx context.Context, g *v2.Grant) (annotations.Annotations, error) {
	team, email, err := b.teamMember(g.GetEntitlement(), g.GetPrincipal().GetId())
	if err != nil {
		return nil, err
	}
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := svc.RemoveOrgTeamMember(ctx, &pluginv1.RemoveOrgTeamMemberRequest{TeamId: team, Email: email})
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
