package connector

import (
	"context"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
)

// TeamResourceType is the Cursor team itself: what a login uses, the target
// of the audit feed's usage events.
var TeamResourceType = v2.ResourceType_builder{
	Id:          "team",
	DisplayName: "Team",
	Description: "The Cursor team (the app members log in to)",
	Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_APP},
	Annotations: annotations.New(&v2.SkipEntitlementsAndGrants{}),
}.Build()

// teamResourceID is the one team's id: a key serves one team.
const teamResourceID = "team"

func teamResource() (*v2.Resource, error) {
	return rs.NewAppResource("Cursor team", TeamResourceType, teamResourceID, nil)
}

type teamBuilder struct{}

// TeamSyncer lists the one team resource; it needs no plugin (the floor of
// the benchmarks uses it too).
func TeamSyncer() connectorbuilder.ResourceSyncerV2 { return &teamBuilder{} }

var _ connectorbuilder.ResourceSyncerV2 = (*teamBuilder)(nil)

func (b *teamBuilder) ResourceType(context.Context) *v2.ResourceType { return TeamResourceType }

func (b *teamBuilder) List(context.Context, *v2.ResourceId, rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	r, err := teamResource()
	if err != nil {
		return nil, nil, err
	}
	return []*v2.Resource{r}, nil, nil
}

func (b *teamBuilder) Entitlements(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

func (b *teamBuilder) Grants(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	return nil, nil, nil
}
