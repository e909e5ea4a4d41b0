// Package connector is baton-cursor's baton connector: it maps the Cursor team
// the plugin serves to baton users, roles, entitlements and grants.
package connector

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/cli"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/host/config"
	"github.com/conductorone/baton-cursor/host/pluginproc"
	"github.com/conductorone/baton-cursor/internal/cursorhttp"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// plugin is what the connector needs of the plugin: a configured client.
type plugin interface {
	Get(ctx context.Context) (pluginv1.PluginServiceClient, error)
}

// Connector is the baton connector. Its zero value (used by `capabilities`)
// has no plugin and never starts one.
type Connector struct {
	plugin plugin

	// Set by Prestart: closed when its start of the plugin is done, and how
	// that went. A failed start is the answer of the first call that waited
	// for it, so it does not start a second plugin at once; a later call (a
	// retry of a rate-limited Validate, say) asks the plugin again.
	started  chan struct{}
	startErr atomic.Pointer[error]

	// provisioningOff: service mode without BATON_PROVISIONING; create and
	// delete refuse (see RefuseProvisioning).
	provisioningOff bool

	// scope says which parts sync (org.go); attach mode learns it from the
	// sidecar when the syncers are listed.
	scope  scope
	attach bool
}

// Prestart starts (and configures) the plugin in the background, so that it
// overlaps baton-sdk's own start-up (opening the c1z) instead of following
// it. host/oneshot calls it for one-shot runs; calls wait for it.
func (c *Connector) Prestart(ctx context.Context) {
	if c.plugin == nil || c.started != nil {
		return
	}
	c.started = make(chan struct{})
	go func() {
		defer close(c.started)
		if _, err := c.plugin.Get(ctx); err != nil {
			c.startErr.Store(&err)
		}
	}()
}

var _ connectorbuilder.ConnectorBuilderV2 = (*Connector)(nil)

// New builds the connector. It starts nothing: in service mode baton-sdk calls
// New in both its parent and its _connector-service child, and only the child
// syncs; one-shot runs (host/oneshot) call it once and Prestart the plugin.
func New(ctx context.Context, cc *config.Cursor, _ *cli.ConnectorOpts) (connectorbuilder.ConnectorBuilderV2, []connectorbuilder.Opt, error) {
	if cc.PluginAddress != "" {
		// Attach mode: the sidecar holds every Cursor setting.
		for _, s := range []struct {
			name string
			set  bool
		}{
			{"cursor-api-key", cc.CursorApiKey != ""},
			{"cursor-org-api-key", cc.CursorOrgApiKey != ""},
			{"cursor-base-url", cc.CursorBaseUrl != "" && cc.CursorBaseUrl != cursorhttp.AdminAPI},
			{"cursor-scim-url", cc.CursorScimUrl != ""},
			{"cursor-scim-token", cc.CursorScimToken != ""},
			{"cursor-remove-unmanaged", cc.CursorRemoveUnmanaged},
			{"cursor-organization-id", cc.CursorOrganizationId != ""},
			{"cursor-activity-days", cc.CursorActivityDays != handshake.DefaultActivityDays},
			{"plugin-path", cc.PluginPath != ""},
		} {
			if s.set {
				return nil, nil, status.Errorf(codes.InvalidArgument,
					"baton-cursor: %s is set, but with plugin-address the Cursor settings live in the sidecar's environment: remove it here", s.name)
			}
		}
		remote, err := pluginproc.NewRemote(cc.PluginAddress, cc.PluginTokenFile, ctxzap.Extract(ctx))
		if err != nil {
			return nil, nil, err
		}
		return &Connector{plugin: remote, attach: true}, nil, nil
	}
	if cc.CursorApiKey == "" && cc.CursorOrgApiKey == "" {
		return nil, nil, status.Error(codes.InvalidArgument,
			"baton-cursor: cursor-api-key is not set: set BATON_CURSOR_API_KEY to a team Admin API key from cursor.com/dashboard → API Keys (or use plugin-address to attach to a running sidecar)")
	}
	if d := cc.CursorActivityDays; d < 0 || d > handshake.MaxActivityDays {
		return nil, nil, status.Errorf(codes.InvalidArgument,
			"baton-cursor: cursor-activity-days is %d: set it between 0 (activity off) and %d", d, handshake.MaxActivityDays)
	}
	lazy := pluginproc.NewLazy(pluginproc.Options{
		Path: cc.PluginPath,
		Settings: &pluginv1.ConfigureRequest{
			ApiKey:          cc.CursorApiKey,
			BaseUrl:         cc.CursorBaseUrl,
			ScimUrl:         cc.CursorScimUrl,
			ScimToken:       cc.CursorScimToken,
			RemoveUnmanaged: cc.CursorRemoveUnmanaged,
			RequestTimeout:  requestTimeout(cc),
			ActivityDays:    proto.Uint32(uint32(cc.CursorActivityDays)),
			// A create or delete of a SCIM-managed person needs no Admin API
			// request; a sync's first call (Validate's GetInfo) proves the key.
			DeferKeyCheck:  true,
			OrgApiKey:      cc.CursorOrgApiKey,
			OrganizationId: cc.CursorOrganizationId,
		},
		Logger: ctxzap.Extract(ctx),
	})
	return &Connector{plugin: lazy, scope: scope{org: cc.CursorOrgApiKey != "", teamOff: cc.CursorApiKey == ""}}, nil, nil
}

// RefuseProvisioning makes every create and delete fail, before any request
// to Cursor, with a message naming BATON_PROVISIONING: for service mode
// without it, where baton-sdk's own refusal does not say what to set.
func (c *Connector) RefuseProvisioning() { c.provisioningOff = true }

// errProvisioningOff is what a create or delete answers after RefuseProvisioning.
var errProvisioningOff = status.Error(codes.FailedPrecondition,
	"baton-cursor: provisioning is off: set BATON_PROVISIONING=true (or --provisioning) on baton-cursor "+
		"to let ConductorOne create and remove Cursor accounts")

// requestTimeout is --http-timeout-seconds (default 60, host/config), the
// limit of one attempt of a Cursor request, as it was set.
func requestTimeout(cc *config.Cursor) *durationpb.Duration {
	if cc.HttpTimeoutSeconds <= 0 {
		return nil // not configured (a zero config): the plugin's own 60 s
	}
	return durationpb.New(time.Duration(cc.HttpTimeoutSeconds) * time.Second)
}

// Metadata describes the connector. No network: C1 calls it often.
func (c *Connector) Metadata(context.Context) (*v2.ConnectorMetadata, error) {
	return v2.ConnectorMetadata_builder{
		DisplayName:           "Cursor",
		Description:           "Members and roles of a Cursor team (the AI code editor) through the Cursor Admin API; accounts created and removed through Cursor's SCIM endpoint.",
		AccountCreationSchema: accountCreationSchema,
	}.Build(), nil
}

// Validate starts the plugin (which checks the key against Cursor) and passes
// its diagnostics on: errors fail validation, the rest is logged.
func (c *Connector) Validate(ctx context.Context) (annotations.Annotations, error) {
	svc, err := c.client(ctx)
	if err != nil {
		return nil, err
	}
	info, err := svc.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("baton-cursor: get plugin info: %w", err)
	}
	l := ctxzap.Extract(ctx)
	l.Info("baton-cursor-plugin ready",
		zap.String("plugin_version", info.GetPluginVersion()),
		zap.Uint32("protocol_version", info.GetProtocolVersion()),
		zap.Uint32("active_members", info.GetTeam().GetActiveMembers()),
		zap.Uint32("removed_members", info.GetTeam().GetRemovedMembers()))
	for _, d := range info.GetDiagnostics() {
		fields := []zap.Field{zap.String("detail", d.GetDetail())}
		switch d.GetSeverity() {
		case pluginv1.Diagnostic_SEVERITY_INFO:
			l.Info(d.GetSummary(), fields...)
		case pluginv1.Diagnostic_SEVERITY_WARNING:
			l.Warn(d.GetSummary(), fields...)
		default:
			return nil, status.Errorf(codes.FailedPrecondition, "baton-cursor: %s", d.GetSummary())
		}
	}
	return nil, nil
}

// ResourceSyncers lists one syncer per resource type: today's team types,
// then the organization's when its key is set (org.go).
func (c *Connector) ResourceSyncers(ctx context.Context) []connectorbuilder.ResourceSyncerV2 {
	sc := c.syncScope(ctx)
	var out []connectorbuilder.ResourceSyncerV2
	out = append(out, &userBuilder{conn: c})
	if !sc.teamOff {
		out = append(out, &roleBuilder{conn: c}, &teamBuilder{})
	}
	return append(out, c.orgSyncers(sc)...)
}

func (c *Connector) client(ctx context.Context) (pluginv1.PluginServiceClient, error) {
	if c.plugin == nil {
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor: the connector is not configured")
	}
	if c.started != nil {
		select {
		case <-c.started:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := c.startErr.Swap(nil); err != nil {
			return nil, *err
		}
	}
	return c.plugin.Get(ctx)
}
