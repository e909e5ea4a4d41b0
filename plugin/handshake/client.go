package handshake

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// A host's side: start the plugin with the settings kept out of its
// environment, and get its cursor.plugin.v1 client.

// ClientConfig is the go-plugin client configuration for starting the plugin
// with cmd: gRPC only, AutoMTLS, the versioned plugin set. Set the returned
// config's other fields (SyncStderr, Managed, …) as the host needs.
//
// The plugin gets its settings and secrets through Configure only, never its
// host's environment: SkipHostEnv is on, and a cmd without Env gets the
// host's environment less every BATON_* variable (a gateway's own
// BATON_CURSOR_API_KEY stays in the gateway). A cmd with Env keeps it as given.
func ClientConfig(cmd *exec.Cmd, logger hclog.Logger) *plugin.ClientConfig {
	if cmd.Env == nil {
		cmd.Env = WithoutHostSettings(os.Environ())
	}
	return &plugin.ClientConfig{
		HandshakeConfig:  Config,
		VersionedPlugins: VersionedPlugins(nil),
		Cmd:              cmd,
		SkipHostEnv:      true,                                   // go-plugin would otherwise append the host's whole environment to cmd.Env
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC}, // nil would mean net/rpc only
		AutoMTLS:         true,
		Logger:           logger,
		// go-plugin's client allows this much today; saying so keeps the
		// policy here, where the plugin's server and attach mode read it.
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))},
	}
}

// WithoutHostSettings returns environ (KEY=value entries) without baton's
// own variables (BATON_*), which hold its host's secrets.
func WithoutHostSettings(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "BATON_") {
			out = append(out, kv)
		}
	}
	return out
}

// Dispense starts the plugin if needed and returns its typed client.
func Dispense(c *plugin.Client) (pluginv1.PluginServiceClient, error) {
	rpc, err := c.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		return nil, err
	}
	svc, ok := raw.(pluginv1.PluginServiceClient)
	if !ok {
		return nil, fmt.Errorf("baton-cursor: plugin %q dispensed %T, not a cursor.plugin.v1 client", PluginName, raw)
	}
	return svc, nil
}
