// Command plugin is baton-cursor-plugin's go-plugin side (what
// plugin/cmd/baton-cursor-plugin runs when a host starts it), profiled by
// internal/bench/prof. Run it through the host's --plugin-path; see
// internal/bench/prof/profile.sh.
package main

import (
	"fmt"
	"os"

	"github.com/conductorone/baton-cursor/internal/bench/prof"
	"github.com/conductorone/baton-cursor/plugin/handshake"
	"github.com/conductorone/baton-cursor/plugin/service"
	"github.com/conductorone/baton-cursor/plugin/transport"
)

func main() {
	if os.Getenv(handshake.Config.MagicCookieKey) != handshake.Config.MagicCookieValue {
		fmt.Fprintln(os.Stderr, "this is a plugin: run it through baton-cursor --plugin-path")
		os.Exit(1)
	}
	prof.Start("plugin")
	logger := transport.NewLogger(os.Getenv("BATON_CURSOR_PLUGIN_LOG_LEVEL"))
	transport.ServeGoPlugin(service.New("prof", logger), logger)
}
