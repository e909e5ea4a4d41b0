// Command host is baton-cursor (host/cmd/baton-cursor) without its exit-code
// supervisor, profiled by internal/bench/prof in its baton-sdk parent and in
// its _connector-service child. See internal/bench/prof/profile.sh.
package main

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/conductorone/baton-sdk/pkg/config"
	"github.com/conductorone/baton-sdk/pkg/connectorrunner"
	"github.com/hashicorp/go-plugin"

	cfg "github.com/conductorone/baton-cursor/host/config"
	"github.com/conductorone/baton-cursor/host/connector"
	"github.com/conductorone/baton-cursor/internal/bench/prof"
)

func main() {
	if slices.Contains(os.Args[1:], "_connector-service") {
		prof.Start("connector-service")
	} else {
		prof.Start("parent")
	}
	// As host/cmd/baton-cursor/main.go does.
	defer plugin.CleanupClients()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		plugin.CleanupClients()
		if sig == syscall.SIGTERM {
			os.Exit(128 + int(syscall.SIGTERM))
		}
	}()
	config.RunConnector(context.Background(), "baton-cursor", "prof", cfg.Config, connector.New,
		connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&connector.Connector{}))
}
