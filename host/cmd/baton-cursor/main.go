// Command baton-cursor is the baton connector for Cursor teams. It syncs
// members and roles through baton-cursor-plugin, which it starts as a
// go-plugin subprocess.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/conductorone/baton-sdk/pkg/config"
	"github.com/conductorone/baton-sdk/pkg/connectorrunner"
	"github.com/hashicorp/go-plugin"

	cfg "github.com/conductorone/baton-cursor/host/config"
	"github.com/conductorone/baton-cursor/host/connector"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if needsSupervisor(os.Args[1:]) {
		os.Exit(supervise(os.Args[1:]))
	}
	// The plugin is started lazily in the process that syncs: baton-sdk's
	// _connector-service child, which baton-sdk ends with SIGKILL when the run
	// is over, so no deferred cleanup would run there. The plugin dies with
	// this process through its parent-death signal and its watchdog
	// (pluginproc); a SIGINT or SIGTERM sent here kills it at once (below;
	// baton-sdk handles only SIGINT and exits on its own).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		plugin.CleanupClients()
		if sig == syscall.SIGTERM {
			os.Exit(128 + int(syscall.SIGTERM))
		}
		// SIGINT: baton-sdk cancels the run and exits on its own.
	}()

	config.RunConnector(context.Background(), "baton-cursor", version, cfg.Config, connector.New,
		connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&connector.Connector{}))
}
