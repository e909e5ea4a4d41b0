//go:build linux

package main

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/conductorone/baton-cursor/internal/c1zread"
)

// compareC1Z checks that the floor emits what baton-cursor emits: the same
// resources, entitlements and grants, field for field.
func compareC1Z(ours, floor string) string {
	ctx := context.Background()
	a, err := c1zread.Read(ctx, ours)
	if err != nil {
		return "could not read ours: " + err.Error()
	}
	b, err := c1zread.Read(ctx, floor)
	if err != nil {
		return "could not read the floor's: " + err.Error()
	}
	type kind struct {
		name   string
		ab, bb map[string]proto.Message
	}
	index := func(ms []proto.Message, key func(proto.Message) string) map[string]proto.Message {
		out := map[string]proto.Message{}
		for _, m := range ms {
			out[key(m)] = m
		}
		return out
	}
	kinds := []kind{
		{"resources", indexResources(a), indexResources(b)},
		{"entitlements", index(msgs(a.Entitlements), idOf), index(msgs(b.Entitlements), idOf)},
		{"grants", index(msgs(a.Grants), idOf), index(msgs(b.Grants), idOf)},
	}
	for _, k := range kinds {
		if len(k.ab) != len(k.bb) {
			return fmt.Sprintf("DIFFERENT: ours has %d %s, the floor %d", len(k.ab), k.name, len(k.bb))
		}
		for id, m := range k.ab {
			// Text form, not proto.Equal: Any fields hold Struct bytes whose map order varies.
			if prototext.Format(m) != prototext.Format(k.bb[id]) {
				return fmt.Sprintf("DIFFERENT: %s %s differs:\n  ours:  %v\n  floor: %v", k.name, id, m, k.bb[id])
			}
		}
	}
	return fmt.Sprintf("identical: %d resources, %d entitlements, %d grants", len(a.Resources), len(a.Entitlements), len(a.Grants))
}

func msgs[T proto.Message](in []T) []proto.Message {
	out := make([]proto.Message, len(in))
	for i, m := range in {
		out[i] = m
	}
	return out
}

func idOf(m proto.Message) string { return m.(interface{ GetId() string }).GetId() }

func indexResources(c *c1zread.Contents) map[string]proto.Message {
	out := map[string]proto.Message{}
	for _, r := range c.Resources {
		out[r.GetId().GetResourceType()+":"+r.GetId().GetResource()] = r
	}
	return out
}
