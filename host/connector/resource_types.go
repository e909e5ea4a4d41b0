package connector

import (
	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
)

var (
	// UserResourceType is a person on the Cursor team; its id is the lower-cased email.
	UserResourceType = v2.ResourceType_builder{
		Id:          "user",
		DisplayName: "User",
		Description: "A member of the Cursor team, keyed by lower-cased email",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_USER},
		Annotations: annotations.New(&v2.SkipEntitlementsAndGrants{}),
	}.Build()
	// RoleResourceType is a Cursor team role: owner, member, free-owner, or one Cursor added.
	RoleResourceType = v2.ResourceType_builder{
		Id:          "role",
		DisplayName: "Role",
		Description: "A Cursor team role; each member holds exactly one",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_ROLE},
	}.Build()
)
