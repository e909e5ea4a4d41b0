// Package command is baton-cursor's command line: baton-sdk's own flags,
// environment names and subcommands, with a one-shot run (package oneshot)
// done in this process and service mode (package service) left on
// baton-sdk's task loop, and an exit status that never lies.
package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/conductorone/baton-sdk/pkg/cli"
	"github.com/conductorone/baton-sdk/pkg/config"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/connectorrunner"
	"github.com/conductorone/baton-sdk/pkg/exit"
	"github.com/conductorone/baton-sdk/pkg/field"
	"github.com/conductorone/baton-sdk/pkg/types"
	"github.com/conductorone/baton-sdk/pkg/types/sessions"
	"github.com/spf13/cobra"

	"github.com/conductorone/baton-cursor/host/oneshot"
	"github.com/conductorone/baton-cursor/host/service"
)

// RunConnector replaces config.RunConnector: the same command line, one-shot
// runs in this process, and an exit status that never lies. stop ends every
// subprocess the connector started (nil: none); it runs on every way out.
// It does not return.
func RunConnector[T field.Configurable](ctx context.Context, name, version string, schema field.Configuration,
	cf cli.NewConnector[T], stop func(), options ...connectorrunner.Option,
) {
	if stop == nil {
		stop = func() {}
	}
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A signal ends a one-shot run through Run.Interrupt. Outside one (while
	// the flags are read, or in service mode, where baton-sdk handles SIGINT
	// itself) it ends the process at once, subprocesses first.
	var current atomic.Pointer[oneshot.Run]
	svc := service.New(name)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			if r := current.Load(); r != nil {
				r.Interrupt(s, stop)
				continue
			}
			stop()
			if svc.Active() {
				svc.Signalled(s)
			}
			if !svc.Active() || s == syscall.SIGTERM {
				svc.RemoveOnSignal()
				os.Exit(oneshot.SignalStatus(s))
			}
		}
	}()

	runOneShot := func(ctx context.Context, do func(context.Context, *oneshot.Run) error) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		r := oneshot.Begin(cancel, stop, os.Exit)
		current.Store(r)
		return do(ctx, r)
	}
	cmd, err := Command(ctx, name, schema, cf, runOneShot, svc.Run, options...)
	if err != nil {
		exit.LogExit(err)
	}
	cmd.Version = version
	err = cmd.Execute()
	stop()
	if s := svc.Signal(); s != nil { // baton-sdk saw the signal too and returned first
		os.Exit(oneshot.SignalStatus(s))
	}
	var in *oneshot.Interrupted
	if errors.As(err, &in) {
		fmt.Fprintln(os.Stderr, in.Error())
		os.Exit(oneshot.SignalStatus(in.Signal))
	}
	if err != nil {
		exit.LogExit(err)
	}
}

// Command builds the connector's command line exactly as
// config.RunConnector does (every flag, env name and subcommand baton-sdk
// defines). run is called for a one-shot run and does it with the Run it
// makes; serve is called instead for service mode (--client-id set),
// with baton-sdk's own RunE.
func Command[T field.Configurable](
	ctx context.Context, name string, schema field.Configuration, cf cli.NewConnector[T],
	run func(ctx context.Context, oneShot func(ctx context.Context, r *oneshot.Run) error) error,
	serve func(baton func() error) error,
	options ...connectorrunner.Option,
) (*cobra.Command, error) {
	var provisioningOff bool // set in service mode's child (service.RefuseProvisioningWithoutFlag)
	getConnector := func(ctx context.Context, cfg T, rt cli.RunTimeOpts) (types.ConnectorServer, error) {
		return newServer(ctx, cf, cfg, &cli.ConnectorOpts{
			TokenSource: rt.TokenSource, SelectedAuthMethod: rt.SelectedAuthMethod,
			SyncResourceTypeIDs: rt.SyncResourceTypeIDs, EgressPolicy: rt.EgressPolicy,
		}, rt.SessionStore, provisioningOff)
	}
	v, cmd, err := config.DefineConfigurationV2(ctx, name, getConnector, schema, options...) //nolint:staticcheck // the only public way to get baton-sdk's command and its viper
	if err != nil {
		return nil, err
	}
	service.RefuseProvisioningWithoutFlag(cmd, v, &provisioningOff)
	baton := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := v.BindPFlags(c.Flags()); err != nil {
			return err
		}
		if v.GetString("client-id") != "" {
			return serve(func() error { return baton(c, args) })
		}
		return run(ctx, func(ctx context.Context, r *oneshot.Run) error {
			return oneshot.Execute(ctx, r, v, name, schema, cf)
		})
	}
	return cmd, nil
}

// newServer is what config.RunConnector does with the connector's
// constructor; with provisioningOff the connector must refuse provisioning.
func newServer[T field.Configurable](ctx context.Context, cf cli.NewConnector[T], cfg T, opts *cli.ConnectorOpts, ss sessions.SessionStore, provisioningOff bool) (types.ConnectorServer, error) {
	cb, builderOpts, err := cf(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	if provisioningOff {
		r, ok := cb.(service.ProvisioningRefuser)
		if !ok {
			return nil, errors.New("provisioning is not enabled: set BATON_PROVISIONING=true (--provisioning)")
		}
		r.RefuseProvisioning()
	}
	return connectorbuilder.NewConnector(ctx, cb, append(builderOpts, connectorbuilder.WithSessionStore(ss))...)
}
