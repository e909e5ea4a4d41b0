// Command host is baton-cursor (host/cmd/baton-cursor) with profiling, run by
// internal/bench/prof/profile.sh. One-shot runs are one process
// (host/oneshot), profiled as "parent".
package main

import (
	"context"

	"github.com/conductorone/baton-sdk/pkg/connectorrunner"

	"github.com/conductorone/baton-cursor/host/command"
	cfg "github.com/conductorone/baton-cursor/host/config"
	"github.com/conductorone/baton-cursor/host/connector"
	"github.com/conductorone/baton-cursor/host/pluginproc"
	"github.com/conductorone/baton-cursor/internal/bench/prof"
)

func main() {
	prof.Start("parent")
	// As host/cmd/baton-cursor/main.go does.
	command.RunConnector(context.Background(), "baton-cursor", "prof", cfg.Config, connector.New,
		pluginproc.KillAll, connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&connector.Connector{}))
}
