package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/cli"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/types/entitlement"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
)

// pageSize is host/connector's page size.
const pageSize = 10000

const assignedEntitlement = "assigned"

// The resource types of host/connector/resource_types.go.
var (
	userResourceType = v2.ResourceType_builder{
		Id:          "user",
		DisplayName: "User",
		Description: "A member of the Cursor team, keyed by lower-cased email",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_USER},
		Annotations: annotations.New(&v2.SkipEntitlementsAndGrants{}),
	}.Build()
	roleResourceType = v2.ResourceType_builder{
		Id:          "role",
		DisplayName: "Role",
		Description: "A Cursor team role; each member holds exactly one",
		Traits:      []v2.ResourceType_Trait{v2.ResourceType_TRAIT_ROLE},
	}.Build()
)

// connector builds the roster on first use: baton-sdk calls newConnector in
// its parent and its _connector-service child, and only the child syncs (as
// the host starts its plugin only there).
type connector struct {
	members, seed int

	once   sync.Once
	roster *roster
	err    error
}

var _ connectorbuilder.ConnectorBuilderV2 = (*connector)(nil)

func newConnector(_ context.Context, cfg *Floor, _ *cli.ConnectorOpts) (connectorbuilder.ConnectorBuilderV2, []connectorbuilder.Opt, error) {
	return &connector{members: cfg.Members, seed: cfg.Seed}, nil, nil
}

// genLine is printed once the roster is built, so that the benchmark can
// take the generation, which is not baton work, out of the floor's time.
const genLine = "floor: roster of %d members generated in %d us\n"

func (c *connector) get() (*roster, error) {
	c.once.Do(func() {
		start := time.Now()
		c.roster, c.err = newRoster(c.members, c.seed)
		fmt.Fprintf(os.Stderr, genLine, c.members, time.Since(start).Microseconds())
	})
	return c.roster, c.err
}

func (c *connector) Metadata(context.Context) (*v2.ConnectorMetadata, error) {
	return v2.ConnectorMetadata_builder{DisplayName: "Cursor (floor)", Description: "baton-cursor's resources from memory"}.Build(), nil
}

// Validate builds the roster, as the host's Validate starts the plugin, which fetches it.
func (c *connector) Validate(context.Context) (annotations.Annotations, error) {
	_, err := c.get()
	return nil, err
}

func (c *connector) ResourceSyncers(context.Context) []connectorbuilder.ResourceSyncerV2 {
	return []connectorbuilder.ResourceSyncerV2{&userBuilder{c}, &roleBuilder{c}}
}

// page cuts list[offset:offset+pageSize]; the token is the next offset.
func page[T any](list []T, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		var err error
		if start, err = strconv.Atoi(token); err != nil || start < 0 || start > len(list) {
			return nil, "", fmt.Errorf("floor: bad page token %q", token)
		}
	}
	end := min(start+pageSize, len(list))
	next := ""
	if end < len(list) {
		next = strconv.Itoa(end)
	}
	return list[start:end], next, nil
}

type userBuilder struct{ c *connector }

func (b *userBuilder) ResourceType(context.Context) *v2.ResourceType { return userResourceType }

func (b *userBuilder) List(_ context.Context, _ *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	ro, err := b.c.get()
	if err != nil {
		return nil, nil, err
	}
	members, next, err := page(ro.all, opts.PageToken.Token)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*v2.Resource, 0, len(members))
	for _, m := range members {
		r, err := userResource(m)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

func (b *userBuilder) Entitlements(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

func (b *userBuilder) Grants(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

// userResource is host/connector's userResource for a member without SCIM facts.
func userResource(m *member) (*v2.Resource, error) {
	name := m.name
	if name == "" {
		name = m.email
	}
	st, traitSt, details := v2.Status_RESOURCE_STATUS_ENABLED, v2.UserTrait_Status_STATUS_ENABLED, ""
	if m.removed {
		st, traitSt, details = v2.Status_RESOURCE_STATUS_DISABLED, v2.UserTrait_Status_STATUS_DISABLED, "removed from the Cursor team"
	}
	return rs.NewUserResource(name, userResourceType, m.key,
		[]rs.UserTraitOption{
			rs.WithEmail(m.email, true),
			rs.WithUserLogin(m.email),
			rs.WithAccountType(v2.UserTrait_ACCOUNT_TYPE_HUMAN),
			rs.WithDetailedStatus(traitSt, details), //nolint:staticcheck // as the host does
		},
		rs.WithResourceStatus(st, details),
		rs.WithResourceProfile(map[string]any{
			"email":               m.email,
			"cursor_id":           m.cursorID,
			"role":                m.role,
			"removed":             m.removed,
			"scim_managed":        false,
			"pending_first_login": false,
		}),
	)
}

type roleBuilder struct{ c *connector }

func (b *roleBuilder) ResourceType(context.Context) *v2.ResourceType { return roleResourceType }

func (b *roleBuilder) List(context.Context, *v2.ResourceId, rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	ro, err := b.c.get()
	if err != nil {
		return nil, nil, err
	}
	out := make([]*v2.Resource, 0, len(ro.roles))
	for _, role := range ro.roles {
		r, err := rs.NewRoleResource(role.name, roleResourceType, role.id,
			[]rs.RoleTraitOption{rs.WithRoleProfile(map[string]any{
				"cursor_role":    role.id,
				"known":          role.known,
				"active_members": int64(role.active),
			})},
			rs.WithDescription(role.description),
		)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return out, nil, nil
}

func (b *roleBuilder) Entitlements(_ context.Context, r *v2.Resource, _ rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return []*v2.Entitlement{entitlement.NewAssignmentEntitlement(r, assignedEntitlement,
		entitlement.WithGrantableTo(userResourceType),
		entitlement.WithDisplayName(r.GetDisplayName()+" role"),
		entitlement.WithDescription("Holds the Cursor "+r.GetDisplayName()+" role"),
	)}, nil, nil
}

func (b *roleBuilder) Grants(_ context.Context, r *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	ro, err := b.c.get()
	if err != nil {
		return nil, nil, err
	}
	members, next, err := page(ro.activeByRole[r.GetId().GetResource()], opts.PageToken.Token)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*v2.Grant, 0, len(members))
	for _, m := range members {
		out = append(out, grant.NewGrant(r, assignedEntitlement,
			v2.ResourceId_builder{ResourceType: userResourceType.GetId(), Resource: m.key}.Build()))
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}
