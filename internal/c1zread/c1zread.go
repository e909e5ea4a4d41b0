// Package c1zread reads a whole c1z file back with baton-sdk's dotc1z: the
// demo prints a summary of it, the tests check it field by field.
package c1zread

import (
	"context"
	"fmt"
	"os"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/dotc1z"
)

// Contents is everything the latest finished sync in a c1z holds.
type Contents struct {
	SyncID       string
	Resources    []*v2.Resource
	Entitlements []*v2.Entitlement
	Grants       []*v2.Grant
}

// ErrNoFinishedSync means the file holds no sync that ran to the end.
var ErrNoFinishedSync = fmt.Errorf("c1z holds no finished sync")

// Read opens path read-only and lists the latest finished sync's contents.
func Read(ctx context.Context, path string) (*Contents, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "c1zread-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	store, err := dotc1z.NewStore(ctx, path, dotc1z.WithReadOnly(true), dotc1z.WithTmpDir(tmp))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer store.Close(ctx)

	run, err := store.SyncMeta().LatestFinishedSyncOfAnyType(ctx)
	if err != nil {
		return nil, err
	}
	if run == nil {
		return nil, ErrNoFinishedSync
	}
	if err := store.SetCurrentSync(ctx, run.ID); err != nil {
		return nil, err
	}
	out := &Contents{SyncID: run.ID}
	if out.Resources, err = drain(func(tok string) ([]*v2.Resource, string, error) {
		resp, err := store.ListResources(ctx, v2.ResourcesServiceListResourcesRequest_builder{PageToken: tok}.Build())
		return resp.GetList(), resp.GetNextPageToken(), err
	}); err != nil {
		return nil, err
	}
	if out.Entitlements, err = drain(func(tok string) ([]*v2.Entitlement, string, error) {
		resp, err := store.ListEntitlements(ctx, v2.EntitlementsServiceListEntitlementsRequest_builder{PageToken: tok}.Build())
		return resp.GetList(), resp.GetNextPageToken(), err
	}); err != nil {
		return nil, err
	}
	if out.Grants, err = drain(func(tok string) ([]*v2.Grant, string, error) {
		resp, err := store.ListGrants(ctx, v2.GrantsServiceListGrantsRequest_builder{PageToken: tok}.Build())
		return resp.GetList(), resp.GetNextPageToken(), err
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// drain calls list until it returns no next page token.
func drain[T any](list func(tok string) ([]T, string, error)) ([]T, error) {
	var all []T
	for tok := ""; ; {
		page, next, err := list(tok)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		tok = next
	}
}

// OfType returns the resources of one resource type.
func (c *Contents) OfType(resourceType string) []*v2.Resource {
	var out []*v2.Resource
	for _, r := range c.Resources {
		if r.GetId().GetResourceType() == resourceType {
			out = append(out, r)
		}
	}
	return out
}
