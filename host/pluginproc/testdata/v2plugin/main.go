// Command v2plugin is a test-only go-plugin server that speaks the
// baton-cursor handshake but offers only protocol version 2, so a host that
// knows version 1 alone must refuse it.
package main

import (
	"github.com/hashicorp/go-plugin"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

type impl struct {
	pluginv1.UnimplementedPluginServiceServer
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake.Config,
		VersionedPlugins: map[int]plugin.PluginSet{
			2: {handshake.PluginName: &handshake.GRPCPlugin{Impl: impl{}}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
