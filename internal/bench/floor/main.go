// Command floor is the benchmark floor: a baton connector built like
// baton-cursor (same resource types, ids, traits, profiles, entitlements,
// grants and page size) that emits the same users, roles and grants from
// memory, with no plugin and no HTTP. The roster comes from the simulated
// tenant's generator, shaped the way plugin/service/roster.go shapes it.
//
//	floor --members 100000 --seed 1 -f floor.c1z
package main

import (
	"context"

	"github.com/conductorone/baton-sdk/pkg/connectorrunner"
	"github.com/conductorone/baton-sdk/pkg/field"

	"github.com/conductorone/baton-cursor/host/command"
)

var (
	membersField = field.IntField("members", field.WithDisplayName("Members"),
		field.WithDescription("size of the simulated team"), field.WithDefaultValue(1000),
		field.WithExportTarget(field.ExportTargetCLIOnly))
	seedField = field.IntField("seed", field.WithDisplayName("Seed"),
		field.WithDescription("simulator data seed (baton-cursor-plugin simulate's default is 1)"), field.WithDefaultValue(1),
		field.WithExportTarget(field.ExportTargetCLIOnly))
	schema = field.NewConfiguration([]field.SchemaField{membersField, seedField},
		field.WithConnectorDisplayName("Cursor (floor)"))
)

func main() {
	// In process, like baton-cursor (host/oneshot): the same baton-sdk sync
	// path, so that the comparison is like with like.
	command.RunConnector(context.Background(), "baton-cursor-floor", "dev", schema, newConnector, nil,
		connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&memConnector{}))
}
