// Command baton-cursor-plugin is the only part of baton-cursor that talks to
// Cursor. baton-cursor starts it as a go-plugin subprocess; by hand it serves
// the plugin as a sidecar.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/conductorone/baton-cursor/plugin/handshake"
	"github.com/conductorone/baton-cursor/plugin/service"
	"github.com/conductorone/baton-cursor/plugin/transport"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `baton-cursor-plugin %s: the Cursor side of baton-cursor.

This binary is a plugin: baton-cursor starts it and talks to it over an
authenticated local gRPC channel (hashicorp/go-plugin, protocol version %d).
You do not need to run it yourself; install it beside baton-cursor.

Usage:
  baton-cursor-plugin serve [flags]      serve the plugin as a sidecar (gRPC, gRPC-Web,
                                         Connect JSON; reflection; health); see serve -h
  baton-cursor-plugin describe           print what this binary serves, as JSON, without starting it
  baton-cursor-plugin version            print the version
  baton-cursor-plugin help               show this text
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	// Started by a go-plugin host: the magic cookie is in the environment.
	if os.Getenv(handshake.Config.MagicCookieKey) == handshake.Config.MagicCookieValue {
		leanGC()
		logger := transport.NewLogger(os.Getenv("BATON_CURSOR_PLUGIN_LOG_LEVEL"))
		transport.ServeGoPlugin(service.New(version, logger), logger)
		return 0
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, usage, version, handshake.ProtocolVersion)
		return 1
	}
	switch args[0] {
	case "serve":
		leanGC()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := serve(ctx, args[1:], stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "baton-cursor-plugin serve: %v\n", err)
			return 2
		}
		return 0
	case "describe":
		if err := describe(stdout); err != nil {
			fmt.Fprintf(stderr, "baton-cursor-plugin describe: %v\n", err)
			return 2
		}
		return 0
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, usage, version, handshake.ProtocolVersion)
		return 0
	default:
		fmt.Fprintf(stderr, "baton-cursor-plugin: unknown command %q\n\n"+usage, args[0], version, handshake.ProtocolVersion)
		return 2
	}
}

// leanGC collects at 50% heap growth instead of Go's 100% unless GOGC is
// set: the plugin's peak is decoding one roster, and at 100,000 members this
// keeps it near 67 MiB instead of 80-88 MiB (BENCHMARKS.md) for a few tens
// of milliseconds of GC.
func leanGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}
