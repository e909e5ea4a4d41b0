package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/sidecarauth"
	"github.com/conductorone/baton-cursor/plugin/service"
	"github.com/conductorone/baton-cursor/plugin/transport"
)

const serveUsage = `Usage: baton-cursor-plugin serve [flags]

Serves cursor.plugin.v1 on one port for grpcurl, curl, buf curl, other
go-plugin hosts and baton-cursor --plugin-address. Settings come from the
environment, with the same names as baton-cursor's:
  BATON_CURSOR_API_KEY (required), BATON_CURSOR_BASE_URL,
  BATON_CURSOR_SCIM_URL, BATON_CURSOR_SCIM_TOKEN, BATON_CURSOR_REMOVE_UNMANAGED,
  BATON_CURSOR_ACTIVITY_DAYS (default 30; 0 turns activity off),
  BATON_HTTP_TIMEOUT_SECONDS (one attempt of a Cursor request; default 60)
Configure from the network is refused. It listens on loopback unless given a
token. It never creates or removes accounts unless started with
--allow-provisioning, which needs a token even on loopback. The first line on
stdout is the base URL.

Flags:
`

// serve runs the sidecar until ctx ends (SIGINT or SIGTERM).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (host:port)")
	tokenFile := fs.String("auth-token-file", "", "file holding a bearer token every call must carry (health excepted)")
	allowWrites := fs.Bool("allow-provisioning", false, "accept Provision and Deprovision (needs --auth-token-file, on loopback too)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate (PEM), with --tls-key")
	tlsKey := fs.String("tls-key", "", "TLS private key (PEM), with --tls-cert")
	logLevel := fs.String("log-level", "info", "log level: trace, debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see serve -h)", fs.Arg(0))
	}
	logger := transport.NewLogger(*logLevel)
	opts := transport.SidecarOptions{Listen: *listen, AllowWrites: *allowWrites, TLSCert: *tlsCert, TLSKey: *tlsKey, Logger: logger}
	if *tokenFile != "" {
		tok, openToOthers, err := sidecarauth.ReadTokenFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("--auth-token-file: %w", err)
		}
		if openToOthers {
			logger.Warn("the --auth-token-file can be read by other users of this machine; chmod 600 it", "path", *tokenFile)
		}
		opts.AuthToken = tok
	}
	// Refuse an exposed address before touching Cursor.
	if err := opts.CheckExposure(); err != nil {
		return err
	}
	settings, err := settingsFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	opts.Ready = func(base string) { fmt.Fprintln(stdout, base) }

	impl := service.New(version, logger)
	opts.Serving = impl.Serving
	if _, err := impl.ConfigureSidecar(ctx, settings, opts.AllowWrites); err != nil {
		switch status.Code(err) {
		case codes.Unavailable, codes.Aborted, codes.DeadlineExceeded:
			// Cursor may come back; calls will retry. Say so and serve.
			logger.Warn("Cursor is not reachable yet; serving anyway", "error", err.Error())
		default:
			return err
		}
	}
	return transport.ServeSidecar(ctx, impl, opts)
}

// settingsFromEnv reads the sidecar's settings; secrets never come from flags.
func settingsFromEnv(getenv func(string) string) (*pluginv1.ConfigureRequest, error) {
	req := &pluginv1.ConfigureRequest{
		ApiKey:    getenv("BATON_CURSOR_API_KEY"),
		BaseUrl:   getenv("BATON_CURSOR_BASE_URL"),
		ScimUrl:   getenv("BATON_CURSOR_SCIM_URL"),
		ScimToken: getenv("BATON_CURSOR_SCIM_TOKEN"),
		OrgApiKey: getenv("BATON_CURSOR_ORG_API_KEY"),
		// Setting it opts in to team membership writes (still behind --allow-provisioning).
		OrganizationId: getenv("BATON_CURSOR_ORGANIZATION_ID"),
	}
	if req.ApiKey == "" && req.OrgApiKey == "" {
		return nil, errors.New("BATON_CURSOR_API_KEY is not set: the sidecar reads its Cursor Admin API key (or BATON_CURSOR_ORG_API_KEY, an Organization API key) from the environment")
	}
	if v := getenv("BATON_HTTP_TIMEOUT_SECONDS"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil || secs <= 0 {
			return nil, fmt.Errorf("BATON_HTTP_TIMEOUT_SECONDS=%q is not a positive number of seconds", v)
		}
		req.RequestTimeout = durationpb.New(time.Duration(secs) * time.Second)
	}
	if v := getenv("BATON_CURSOR_ACTIVITY_DAYS"); v != "" {
		days, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("BATON_CURSOR_ACTIVITY_DAYS=%q is not a number of days (0 turns activity off)", v)
		}
		req.ActivityDays = proto.Uint32(uint32(days))
	}
	if v := getenv("BATON_CURSOR_REMOVE_UNMANAGED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("BATON_CURSOR_REMOVE_UNMANAGED=%q is not true or false", v)
		}
		req.RemoveUnmanaged = b
	}
	return req, nil
}
