// Package oneshot runs a baton connector's one-shot actions (sync to a c1z,
// create account, delete resource, grant, revoke, event feed) inside the
// process that was started, with no `_connector-service` child.
//
// baton-sdk's runner always serves the connector from a child process and,
// when a one-shot run fails, races two exits: its own error exit and the
// child watcher's os.Exit(0) (internal/connector/connector.go, runServer).
// Here the connector is built with connectorbuilder.NewConnector and called
// directly (inprocess.go); baton-sdk's own task managers (pkg/tasks/local)
// and syncer do the work, so the c1z is written by the same code as before.
// A run stages its c1z and temp files (run.go) and ends with one line
// saying what it did (summary.go).
package oneshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/conductorone/baton-sdk/pkg/cli"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/dotc1z/c1zstore"
	"github.com/conductorone/baton-sdk/pkg/field"
	"github.com/conductorone/baton-sdk/pkg/logging"
	"github.com/conductorone/baton-sdk/pkg/session"
	"github.com/conductorone/baton-sdk/pkg/tasks"
	"github.com/conductorone/baton-sdk/pkg/tasks/local"
	"github.com/conductorone/baton-sdk/pkg/uhttp"
	"github.com/conductorone/baton-sdk/pkg/uotel"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/structpb"
)

// Execute does the one-shot run r asks for (the flags in v) in this
// process and ends it: a sync's c1z becomes -f only if it succeeded before
// any signal, and the last log line says what the run did.
func Execute[T field.Configurable](ctx context.Context, r *Run, v *viper.Viper, name string, schema field.Configuration, cf cli.NewConnector[T]) error {
	err := oneShot(context.WithValue(ctx, summaryKey{}, r.summary), v, name, schema, cf, r)
	if err := r.finish(ctx, err); err != nil {
		return err
	}
	// The log is baton's, set up by the run.
	zap.L().Info(r.summary.line(r.action, r.out))
	return nil
}

// oneShot does what baton-sdk's main command does for a run without
// --client-id (pkg/cli/commands.go, MakeMainCommand), reading the same flags,
// but calls the connector in this process.
func oneShot[T field.Configurable](ctx context.Context, v *viper.Viper, name string, schema field.Configuration, cf cli.NewConnector[T], r *Run) error {
	logOpts := []logging.Option{
		logging.WithLogFormat(v.GetString("log-format")),
		logging.WithLogLevel(v.GetString("log-level")),
	}
	if paths := v.GetStringSlice("log-path"); len(paths) > 0 {
		logOpts = append(logOpts, logging.WithOutputPaths(paths))
	}
	ctx, err := logging.Init(ctx, logOpts...)
	if err != nil {
		return err
	}
	ctx, otelShutdown, err := initOtel(ctx, name, v)
	if err != nil {
		return err
	}
	if otelShutdown != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := otelShutdown(sctx); err != nil {
				ctxzap.Extract(ctx).Error("error shutting down otel", zap.Error(err))
			}
		}()
	}

	if err := r.start(v.GetString("c1z-temp-dir")); err != nil {
		return err
	}
	cfg, err := cli.MakeGenericConfiguration[T](v, field.WithAdditionalDecodeHooks(field.FileUploadDecodeHook(true)))
	if err != nil {
		return fmt.Errorf("failed to make configuration: %w", err)
	}
	if err := field.Validate(schema, cfg, field.WithAuthMethod(v.GetString("auth-method"))); err != nil {
		return err
	}
	// field.Validate skips a zero, which would leave the plugin's own default.
	httpTimeout := v.GetInt(field.HttpTimeoutField.GetName())
	if httpTimeout <= 0 {
		return fmt.Errorf("field %s: value must be greater than or equal to 1 but got %d", field.HttpTimeoutField.GetName(), httpTimeout)
	}
	ctx = context.WithValue(ctx, uhttp.ContextHTTPTimeoutKey, time.Duration(httpTimeout)*time.Second)

	tm, err := taskManager(ctx, v, r)
	if err != nil {
		return err
	}
	hold(ctx, "before-plugin")
	cb, builderOpts, err := cf(ctx, cfg, &cli.ConnectorOpts{
		SelectedAuthMethod:  v.GetString("auth-method"),
		SyncResourceTypeIDs: v.GetStringSlice("sync-resource-types"),
	})
	if err != nil {
		return err
	}
	if p, ok := cb.(prestarter); ok {
		p.Prestart(ctx)
	}
	srv, err := connectorbuilder.NewConnector(ctx, cb, append(builderOpts, connectorbuilder.WithSessionStore(&session.NoOpSessionStore{}))...)
	if err != nil {
		return err
	}
	// Cleanup is a sync's last connector call: the plugin's exit can then
	// overlap baton-sdk writing the c1z. finish waits for it.
	cc := newInProcessClient(ctx, srv, func() { go r.stop() }, r.summary.observe)
	// The local task managers hand out their one task, then nil.
	for {
		task, _, err := tm.Next(ctx)
		if err != nil {
			return err
		}
		if task == nil {
			return nil
		}
		if err := tm.Process(ctx, task, cc); err != nil {
			return fmt.Errorf("runner: error processing task: %w", err)
		}
	}
}

// prestarter is a connector that can start its subprocess ahead of the
// first call (baton-cursor's plugin), overlapping baton-sdk's start-up.
type prestarter interface{ Prestart(ctx context.Context) }

// taskManager runs the one action the flags ask for (pickAction).
func taskManager(ctx context.Context, v *viper.Viper, r *Run) (tasks.Manager, error) {
	file := v.GetString("file")
	act, err := pickAction(v)
	if err != nil {
		return nil, err
	}
	r.action = act
	switch act {
	case "create-account-email":
		profile, login, email, err := accountProfile(v)
		if err != nil {
			return nil, err
		}
		return local.NewCreateAccountManager(ctx, file, login, email, profile, v.GetString("create-account-resource-type")), nil
	case "delete-resource":
		// Members are the one thing baton-cursor deletes.
		typ := v.GetString("delete-resource-type")
		if typ == "" {
			typ = "user"
		}
		return local.NewResourceDeleter(ctx, file, v.GetString("delete-resource"), typ), nil
	case "grant-entitlement":
		// The entitlement and principal are looked up in the c1z: sync first.
		typ := v.GetString("grant-principal-type")
		if typ == "" {
			typ = "user"
		}
		return local.NewGranter(ctx, file, v.GetString("grant-entitlement"), v.GetString("grant-principal"), typ), nil
	case "revoke-grant":
		return local.NewRevoker(ctx, file, v.GetString("revoke-grant")), nil
	case "event-feed":
		return local.NewEventFeed(ctx, v.GetString("event-feed-id"), v.GetTime("event-feed-start-at"), v.GetString("event-feed-cursor")), nil
	}

	out, err := r.Output(file)
	if err != nil {
		return nil, err
	}
	opts := []local.Option{
		local.WithTmpDir(r.TempDir()),
		local.WithSkipEntitlementsAndGrants(v.GetBool("skip-entitlements-and-grants")),
		local.WithSkipGrants(v.GetBool("skip-grants")),
		local.WithSyncResourceTypeIDs(v.GetStringSlice("sync-resource-types")),
		local.WithWorkerCount(v.GetInt(field.WorkerCountField.GetName())),
	}
	if v.GetBool(field.ParallelSyncField.GetName()) && v.GetInt(field.WorkerCountField.GetName()) == 0 {
		opts = append(opts, local.WithWorkerCount(-1))
	}
	if engine := v.GetString(field.StorageEngineField.GetName()); engine != "" {
		f := field.StorageEngineField
		if _, err := field.ValidateField(&f, engine); err != nil {
			return nil, err
		}
		opts = append(opts, local.WithStorageEngine(c1zstore.Engine(engine)))
	}
	for _, f := range []string{"sync-resources", "external-resource-traits"} {
		if len(v.GetStringSlice(f)) > 0 {
			return nil, unsupported(f)
		}
	}
	if ext := v.GetString("external-resource-c1z"); ext != "" {
		if _, err := os.Stat(ext); err != nil {
			return nil, fmt.Errorf("the specified external resource c1z file does not exist: %s", ext)
		}
		opts = append(opts, local.WithExternalResourceC1Z(ext),
			local.WithExternalResourceEntitlementIdFilter(v.GetString("external-resource-entitlement-id-filter")))
	}
	return local.NewSyncer(ctx, out, opts...)
}

// accountProfile is baton-sdk's reading of the --create-account-* flags.
func accountProfile(v *viper.Viper) (*structpb.Struct, string, string, error) {
	profileMap := map[string]any{}
	if raw := v.GetString("create-account-profile"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &profileMap); err != nil || profileMap == nil {
			return nil, "", "", fmt.Errorf("create-account-profile is empty or incorrectly formatted: %v", raw)
		}
	}
	for _, k := range []string{"login", "email"} {
		if val := v.GetString("create-account-" + k); val != "" {
			if _, ok := profileMap[k]; !ok {
				profileMap[k] = val
			}
		}
	}
	login, _ := profileMap["login"].(string)
	email, _ := profileMap["email"].(string)
	// For Cursor the login is the email: either one alone is enough.
	switch {
	case login == "" && email == "":
		return nil, "", "", errors.New("baton-cursor: set --create-account-email (or an email in --create-account-profile)")
	case email == "":
		email = login
	case login == "":
		login = email
	case !strings.EqualFold(login, email):
		return nil, "", "", fmt.Errorf("baton-cursor: --create-account-login %q and --create-account-email %q differ: for Cursor the login is the email, so give --create-account-email alone", login, email)
	}
	profile, err := structpb.NewStruct(profileMap)
	return profile, login, email, err
}

// initOtel is baton-sdk's (pkg/cli, unexported) for the --otel-* flags.
func initOtel(ctx context.Context, name string, v *viper.Viper) (context.Context, func(context.Context) error, error) {
	endpoint := v.GetString(field.OtelCollectorEndpointFieldName)
	if endpoint == "" {
		return ctx, nil, nil
	}
	opts := []uotel.Option{uotel.WithServiceName(name + "-server")}
	if v.GetBool(field.OtelTracingDisabledFieldName) {
		opts = append(opts, uotel.WithTracingDisabled())
	}
	if v.GetBool(field.OtelLoggingDisabledFieldName) {
		opts = append(opts, uotel.WithLoggingDisabled())
	}
	if v.GetBool(field.OtelCollectorEndpointTLSInsecureFieldName) {
		opts = append(opts, uotel.WithInsecureOtelEndpoint(endpoint))
	} else {
		opts = append(opts, uotel.WithOtelEndpoint(endpoint,
			v.GetString(field.OtelCollectorEndpointTLSCertPathFieldName), v.GetString(field.OtelCollectorEndpointTLSCertFieldName)))
	}
	return uotel.InitOtel(ctx, opts...)
}
