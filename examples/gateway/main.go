// Command gateway is a third-party go-plugin host in a few lines: it loads
// baton-cursor-plugin through the public handshake package and lists every
// member of the Cursor team. Settings come from BATON_CURSOR_API_KEY and
// BATON_CURSOR_BASE_URL.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
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

	client := plugin.NewClient(handshake.ClientConfig(exec.Command(*path), hclog.New(&hclog.LoggerOptions{Level: hclog.Warn})))
	defer client.Kill()
	cursor, err := handshake.Dispense(client)
	if err != nil {
		log.Fatalf("gateway: load %s: %v", *path, err)
	}
	ctx := context.Background()
	settings := &pluginv1.ConfigureRequest{ApiKey: os.Getenv("BATON_CURSOR_API_KEY"), BaseUrl: os.Getenv("BATON_CURSOR_BASE_URL")}
	if _, err := cursor.Configure(ctx, settings); err != nil {
		log.Fatalf("gateway: configure: %v", err)
	}
	for token := ""; ; {
		page, err := cursor.ListMembers(ctx, &pluginv1.ListMembersRequest{PageToken: token, IncludeRemoved: true})
		if err != nil {
			log.Fatalf("gateway: list members: %v", err)
		}
		for _, m := range page.GetMembers() {
			fmt.Printf("%s\t%s\tremoved=%v\n", m.GetKey(), m.GetRole(), m.GetRemoved())
		}
		if token = page.GetNextPageToken(); token == "" {
			return
		}
	}
}
