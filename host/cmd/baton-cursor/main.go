// Command baton-cursor is the baton connector for Cursor teams and
// organizations. It reaches Cursor through baton-cursor-plugin, which it
// starts as a go-plugin subprocess. One-shot runs (a sync to a c1z, create,
// delete, grant, revoke, the event feed) run in this process (host/oneshot);
// service mode is baton-sdk's task loop (host/service); host/command picks.
package main

import (
	"context"

	"github.com/conductorone/baton-sdk/pkg/connectorrunner"

	"github.com/conductorone/baton-cursor/host/command"
	cfg "github.com/conductorone/baton-cursor/host/config"
	"github.com/conductorone/baton-cursor/host/connector"
	"github.com/conductorone/baton-cursor/host/pluginproc"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// pluginproc.KillAll kills the plugin on every way out, signals
	// included; os.Exit and SIGKILL are covered by the plugin's parent-death
	// signal and watchdog.
	command.RunConnector(context.Background(), "baton-cursor", version, cfg.Config, connector.New,
		pluginproc.KillAll, connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&connector.Connector{}))
}
