// Package handshake is the small public surface both sides of go-plugin
// share: what they agree on (this file: the handshake config, the plugin
// name, the protocol versions, the message size, the plugin set) and, for a
// host only, how to start the plugin and get its typed client (client.go).
// It is the only package of this module a third-party host imports (with
// the generated contract in gen/); the plugin's side calls VersionedPlugins
// with its implementation.
package handshake

import (
	"context"
	"math"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// PluginName is the name under which the plugin's service is dispensed.
const PluginName = "cursor"

// ProtocolVersion is the go-plugin protocol version of cursor.plugin.v1. A
// breaking change gets a new proto package (cursor.plugin.v2) served as
// protocol version 2, next to 1, so old hosts keep working.
const ProtocolVersion = 1

// MaxMessageBytes bounds one cursor.plugin.v1 message over gRPC, on every
// path: go-plugin (ClientConfig and the plugin's server) and a host attached
// to a sidecar. A ListMembers page holds up to 10,000 members whose names
// Cursor does not bound, so a page passes gRPC's default 4 MiB at about 420
// bytes a member; the plugin bounds pages by count, not bytes, so the limit
// is gRPC's largest. (A sidecar caps what it reads much lower: requests are
// small.)
const MaxMessageBytes = math.MaxInt32

// Config is the go-plugin handshake. The magic cookie only keeps a person from
// running the plugin by hand by mistake; it is not a secret and never changes.
var Config = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion, // ignored by go-plugin when VersionedPlugins is set
	MagicCookieKey:   "BATON_CURSOR_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "8d1f6c0a3e5b47f2a9c4d6e8b0f21357-baton-cursor-plugin",
}

// GRPCPlugin adapts the cursor.plugin.v1 service to go-plugin. Impl is set only
// inside the plugin process.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pluginv1.PluginServiceServer
}

// GRPCServer registers the service on go-plugin's gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterPluginServiceServer(s, p.Impl)
	return nil
}

// GRPCClient returns a pluginv1.PluginServiceClient over go-plugin's connection.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return pluginv1.NewPluginServiceClient(cc), nil
}

// VersionedPlugins maps each protocol version to its plugin set. A host passes
// nil; the plugin passes its implementation. go-plugin picks the highest
// version both sides list.
func VersionedPlugins(impl pluginv1.PluginServiceServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &GRPCPlugin{Impl: impl}},
	}
}

// The activity window a host may ask for in ConfigureRequest.activity_days:
// unset means DefaultActivityDays, 0 turns enrichment off, and more than
// MaxActivityDays is refused (Cursor keeps usage windows of 30 days; each
// costs a request). A host checks them before starting the plugin, the
// plugin for every host.
const (
	DefaultActivityDays = 30
	MaxActivityDays     = 90
)
