// Package transport carries cursor.plugin.v1 to and from the domain code
// (package service, which knows Cursor): as a go-plugin subprocess of a host
// (gRPC over a unix socket with mTLS, a parent watchdog), and as a sidecar on
// a TCP port (Connect: gRPC, gRPC-Web and JSON, reflection, health, bearer
// token, write guard). It knows nothing about Cursor.
package transport

import (
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// ServeGoPlugin serves impl to the go-plugin host that started this process.
// It blocks until the host disconnects or dies.
func ServeGoPlugin(impl pluginv1.PluginServiceServer, logger hclog.Logger) {
	go exitWhenOrphaned(logger, os.Getppid(), 250*time.Millisecond)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  handshake.Config,
		VersionedPlugins: handshake.VersionedPlugins(impl),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			// go-plugin's default keeps gRPC's 4 MiB receive limit; pages are
			// bounded by count, and the host decides their size.
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(handshake.MaxMessageBytes), grpc.MaxSendMsgSize(handshake.MaxMessageBytes))...)
		},
		Logger: logger,
	})
}

// exitWhenOrphaned ends the plugin when its host dies without killing it (a
// SIGKILLed host cannot): go-plugin alone would leave it running under init.
func exitWhenOrphaned(logger hclog.Logger, ppid int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			logger.Warn("the host process went away; exiting")
			os.Exit(2)
		}
	}
}

// NewLogger returns the plugin's logger: JSON on the real stderr, which the
// go-plugin host parses and re-logs under the plugin's name.
func NewLogger(level string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "baton-cursor-plugin",
		Level:      hclog.LevelFromString(level),
		Output:     os.Stderr,
		JSONFormat: true,
	})
}
