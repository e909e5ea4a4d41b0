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
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	"github.com/conductorone/baton-cursor/host/connector"
)

// pageSize is host/connector's page size.
const pageSize = 10000

// memConnector builds the roster on first use, as the host starts its plugin
// only when the sync needs it.
type memConnector struct {
	members, seed int

	once   sync.Once
	roster *roster
	err    error
}

var _ connectorbuilder.ConnectorBuilderV2 = (*memConnector)(nil)

func newConnector(_ context.Context, cfg *Floor, _ *cli.ConnectorOpts) (connectorbuilder.ConnectorBuilderV2, []connectorbuilder.Opt, error) {
	return &memConnector{members: cfg.Members, seed: cfg.Seed}, nil, nil
}

// genLine is printed once the roster is built, so that the benchmark can
// take the generation, which is not baton work, out of the floor's time.
const genLine = "floor: roster of %d members generated in %d us\n"

func (c *memConnector) get() (*roster, error) {
	c.once.Do(func() {
		start := time.Now()
		c.roster, c.err = newRoster(c.members, c.seed)
		fmt.Fprintf(os.Stderr, genLine, c.members, time.Since(start).Microseconds())
	})
	return c.roster, c.err
}

func (c *memConnector) Metadata(context.Context) (*v2.ConnectorMetadata, error) {
	return v2.ConnectorMetadata_builder{DisplayName: "Cursor (floor)", Description: "baton-cursor's resources from memory"}.Build(), nil
}

// Validate builds the roster, as the host's Validate starts the plugin, which fetches it.
func (c *memConnector) Validate(context.Context) (annotations.Annotations, error) {
	_, err := c.get()
	return nil, err
}

func (c *memConnector) ResourceSyncers(context.Context) []connectorbuilder.ResourceSyncerV2 {
	return []connectorbuilder.ResourceSyncerV2{&userBuilder{c}, &roleBuilder{c}, connector.TeamSyncer()}
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

type userBuilder struct{ c *memConnector }

func (b *userBuilder) ResourceType(context.Context) *v2.ResourceType {
	return connector.UserResourceType
}

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
		r, err := connector.UserResource(m)
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

type roleBuilder struct{ c *memConnector }

func (b *roleBuilder) ResourceType(context.Context) *v2.ResourceType {
	return connector.RoleResourceType
}

func (b *roleBuilder) List(context.Context, *v2.ResourceId, rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	ro, err := b.c.get()
	if err != nil {
		return nil, nil, err
	}
	out := make([]*v2.Resource, 0, len(ro.roles))
	for _, role := range ro.roles {
		r, err := connector.RoleResource(role)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return out, nil, nil
}

func (b *roleBuilder) Entitlements(_ context.Context, r *v2.Resource, _ rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return []*v2.Entitlement{connector.RoleEntitlement(r)}, nil, nil
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
		out = append(out, connector.RoleGrant(r, m.GetKey()))
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}
