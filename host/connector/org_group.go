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

// The three group layers are kept as three types: their ids come from
// different namespaces (grp_…, team_group_…, group_…) and their rules
// differ (a person is in at most one billing group).
var (
	OrgGroupResourceType = v2.ResourceType_builder{
		Id:          "org_group",
		DisplayName: "Organization group",
		Description: "A Cursor organization group (model access and spend limits across teams)",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_GROUP},
	}.Build()
	TeamDirectoryGroupResourceType = v2.ResourceType_builder{
		Id:          "team_directory_group",
		DisplayName: "Team directory group",
		Description: "A directory group of the Cursor team",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_GROUP},
	}.Build()
	BillingGroupResourceType = v2.ResourceType_builder{
		Id:          "billing_group",
		DisplayName: "Billing group",
		Description: "A billing group of the Cursor team; a person is in at most one",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_GROUP},
	}.Build()
)

// memberEntitlement is every group's one entitlement: being in it.
const memberEntitlement = "member"

type groupBuilder struct {
	conn *Connector
	kind pluginv1.GroupKind
	rt   *v2.ResourceType
}

var _ connectorbuilder.ResourceSyncerV2 = (*groupBuilder)(nil)

func (b *groupBuilder) ResourceType(context.Context) *v2.ResourceType { return b.rt }

func (b *groupBuilder) List(ctx context.Context, _ *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := svc.ListOrgGroups(ctx, &pluginv1.ListOrgGroupsRequest{Kind: b.kind, PageToken: opts.PageToken.Token})
	if err != nil {
		return nil, nil, fmt.Errorf("baton-cursor: list %s: %w", b.rt.GetDisplayName(), err)
	}
	out := make([]*v2.Resource, 0, len(resp.GetGroups()))
	for _, g := range resp.GetGroups() {
		r, err := GroupResource(b.rt, g)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return out, &rs.SyncOpResults{NextPageToken: resp.GetNextPageToken()}, nil
}

// GroupResource maps a group; its profile says whether the identity
// provider owns its membership (scim_synced).
func GroupResource(rt *v2.ResourceType, g *pluginv1.OrgGroup) (*v2.Resource, error) {
	profile := map[string]any{
		"cursor_id":          g.GetCursorId(),
		"scim_synced":        g.GetScimSynced(),
		"directory_group_id": g.GetDirectoryGroupId(),
		"member_count":       int64(g.GetMemberCount()),
	}
	if g.MonthlySpendingLimitDollars != nil {
		profile["monthly_spending_limit_dollars"] = g.GetMonthlySpendingLimitDollars()
	}
	desc := "Membership managed in Cursor"
	if g.GetScimSynced() {
		desc = "Membership synced from the identity provider (SCIM); change it there"
	}
	r, err := rs.NewGroupResource(g.GetName(), rt, g.GetKey(), []rs.GroupTraitOption{rs.WithGroupProfile(profile)},
		rs.WithDescription(desc))
	if err != nil {
		return nil, fmt.Errorf("baton-cursor: map group %s: %w", g.GetKey(), err)
	}
	return r, nil
}

func (b *groupBuilder) Entitlements(_ context.Context, r *v2.Resource, _ rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return []*v2.Entitlement{entitlement.NewAssignmentEntitlement(r, memberEntitlement,
		entitlement.WithGrantableTo(UserResourceType),
		entitlement.WithDisplayName(r.GetDisplayName()+" member"),
		entitlement.WithDescription("Member of the "+b.rt.GetDisplayName()+" "+r.GetDisplayName()))}, nil, nil
}

// Grants: one per member, a page of the plugin's at a time.
func (b *groupBuilder) Grants(ctx context.Context, r *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	svc, err := b.conn.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	gt, err := rs.GetGroupTrait(r)
	if err != nil {
		return nil, nil, err
	}
	id := gt.GetProfile().GetFields()["cursor_id"].GetStringValue()
	resp, err := svc.ListOrgGroupMembers(ctx, &pluginv1.ListOrgGroupMembersRequest{Kind: b.kind, GroupId: id, PageToken: opts.PageToken.Token})
	if err != nil {
		return nil, nil, fmt.Errorf("baton-cursor: list members of group %s: %w", r.GetDisplayName(), err)
	}
	out := make([]*v2.Grant, 0, len(resp.GetKeys()))
	for _, k := range resp.GetKeys() {
		out = append(out, grant.NewGrant(r, memberEntitlement, userID(k)))
	}
	return out, &rs.SyncOpResults{NextPageToken: resp.GetNextPageToken()}, nil
}
