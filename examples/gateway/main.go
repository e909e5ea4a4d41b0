// Command gateway is a third-party go-plugin host in a few lines: it loads
// baton-cursor-plugin through the public handshake package and lists every
// member of the Cursor team. Settings come from BATON_CURSOR_API_KEY and
// BATON_CURSOR_BASE_URL; the plugin gets them through Configure, not its
// environment.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

func main() {
	path := flag.String("plugin", "baton-cursor-plugin", "path to the plugin binary")
	flag.Parse()
	// run returns before the exit, so its deferred Kill always stops the plugin.
	if err := run(*path); err != nil {
		fmt.Fprintf(os.Stderr, "gateway: %v\n", err)
		os.Exit(1)
	}
}

func run(path string) error {
	client := plugin.NewClient(handshake.ClientConfig(exec.Command(path), hclog.New(&hclog.LoggerOptions{Level: hclog.Warn})))
	defer client.Kill()
	cursor, err := handshake.Dispense(client)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	ctx := context.Background()
	settings := &pluginv1.ConfigureRequest{ApiKey: os.Getenv("BATON_CURSOR_API_KEY"), BaseUrl: os.Getenv("BATON_CURSOR_BASE_URL")}
	if _, err := cursor.Configure(ctx, settings); err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	for token := ""; ; {
		page, err := cursor.ListMembers(ctx, &pluginv1.ListMembersRequest{PageToken: token, IncludeRemoved: true})
		if err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		for _, m := range page.GetMembers() {
			fmt.Printf("%s\t%s\tremoved=%v\n", m.GetKey(), m.GetRole(), m.GetRemoved())
		}
		if token = page.GetNextPageToken(); token == "" {
			return nil
		}
	}
}
