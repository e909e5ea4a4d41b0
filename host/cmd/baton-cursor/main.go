// Command baton-cursor is the baton connector for Cursor teams. It syncs
// members and roles through baton-cursor-plugin, which it starts as a
// go-plugin subprocess.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/conductorone/baton-sdk/pkg/cli"
	"github.com/conductorone/baton-sdk/pkg/config"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/connectorrunner"
	"github.com/conductorone/baton-sdk/pkg/exit"
	"github.com/conductorone/baton-sdk/pkg/types"
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

	if err := run(context.Background()); err != nil {
		exit.LogExit(explainCredentials(err))
	}
}

// run is baton-sdk's config.RunConnector, returning its error so that
// main can explain it, with the connector's provisioning refused in service
// mode without BATON_PROVISIONING (see refuseProvisioningWithoutFlag).
func run(ctx context.Context) error {
	var provisioningOff bool
	newConnector := func(ctx context.Context, cc *cfg.Cursor, rt cli.RunTimeOpts) (types.ConnectorServer, error) {
		c, opts, err := connector.New(ctx, cc, &cli.ConnectorOpts{
			TokenSource: rt.TokenSource, SelectedAuthMethod: rt.SelectedAuthMethod,
			SyncResourceTypeIDs: rt.SyncResourceTypeIDs, EgressPolicy: rt.EgressPolicy,
		})
		if err != nil {
			return nil, err
		}
		if conn, ok := c.(*connector.Connector); ok && provisioningOff {
			conn.RefuseProvisioning()
		}
		return connectorbuilder.NewConnector(ctx, c, append(opts, connectorbuilder.WithSessionStore(rt.SessionStore))...)
	}
	v, cmd, err := config.DefineConfigurationV2(ctx, "baton-cursor", newConnector, cfg.Config,
		connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&connector.Connector{}))
	if err != nil {
		return err
	}
	cmd.Version = version
	refuseProvisioningWithoutFlag(cmd, v, &provisioningOff)
	return cmd.Execute()
}
