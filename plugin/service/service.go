// Package service is the plugin's domain: cursor.plugin.v1 answered from
// Cursor's Admin API, Organization API and SCIM (rosters, activity, groups,
// provisioning). It knows nothing of how calls arrive; package transport
// serves it over go-plugin (gRPC) and as the sidecar (Connect).
package service

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/cursororg"
	"github.com/conductorone/baton-cursor/internal/httpretry"
	"github.com/conductorone/baton-cursor/internal/scim"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// Server is the cursor.plugin.v1 implementation.
type Server struct {
	pluginv1.UnimplementedPluginServiceServer

	version string
	logger  hclog.Logger
	now     func() time.Time
	// The API clients are built from settings by these; tests replace them.
	newAdmin func(cursorapi.Config) (adminAPI, error)
	newSCIM  func(scim.Config) (directory, error)

	teamRead singleflight.Group // concurrent roster-only reads share one request (membership.go)
	org      orgCache           // the organization snapshot (org.go)
	groups   groupCache         // team directory and billing groups read whole (org_groups.go)

	mu       sync.Mutex // guards everything below; never held while Cursor answers
	settings *settings
	sidecar  bool // configured from its own environment; Configure from the network is refused
	writes   bool // Provision and Deprovision are accepted (a sidecar decides at start)
	roster   rosterCache
	fetching *rosterFetch // the roster fetch in flight, if any
	// writeCount counts the writes this plugin made to Cursor (forgetRoster).
	writeCount uint64
	team       *teamRows // the last roster-only read, for provisioning (membership.go)
	serving    bool      // a roster was fetched and Cursor has not rejected the key since
	// seenUnknownRoles makes the "unknown role" warning appear once per process.
	seenUnknownRoles map[string]bool
}

// adminAPI is what the service needs of Cursor's Admin API.
type adminAPI interface {
	ListMembers(ctx context.Context) ([]cursorapi.Member, error)
	RemoveMember(ctx context.Context, email string) (cursorapi.RemoveResult, error)
}

// directory is what the service needs of the tenant's SCIM endpoint.
type directory interface {
	ListUsers(ctx context.Context) ([]scim.User, error)
	FindByUserName(ctx context.Context, userName string) ([]scim.User, error)
	FirstUsers(ctx context.Context, n int) ([]scim.User, error)
	Create(ctx context.Context, u scim.User) (scim.User, error)
	Delete(ctx context.Context, id string) error
}

type settings struct {
	admin           adminAPI
	scim            directory // nil: sync-only
	removeUnmanaged bool
	activity        activityAPI // nil: activity enrichment and the audit feed are off
	activityDays    int
	org             *cursororg.Client // nil: the organization is not synced (org.go)
	orgID           string            // "org_…": team membership writes are opted into (org_team_membership.go)
	scimFolds       atomic.Int32      // does the SCIM server's userName search ignore case? (identity.go)
	feedWarned      sync.Map          // the audit feed's warnings already logged with these settings (audit.go)
}

// New returns an unconfigured Server; the host calls Configure before anything else.
func New(version string, logger hclog.Logger) *Server {
	s := &Server{
		version:          version,
		logger:           logger,
		now:              time.Now,
		seenUnknownRoles: map[string]bool{},
	}
	onRetry := func(attempt int, wait time.Duration, reason string) {
		s.logger.Warn("Cursor request failed; retrying", "attempt", attempt, "wait", wait.String(), "reason", reason)
	}
	userAgent := "baton-cursor-plugin/" + version
	s.newAdmin = func(cfg cursorapi.Config) (adminAPI, error) {
		cfg.OnRetry, cfg.UserAgent = onRetry, userAgent
		return cursorapi.New(cfg)
	}
	s.newSCIM = func(cfg scim.Config) (directory, error) {
		cfg.OnRetry, cfg.UserAgent = onRetry, userAgent
		return scim.New(cfg)
	}
	return s
}

// Configure stores the settings and proves the key with one roster-only read
// (membership.go), which the sync that follows reuses, unless the request
// defers that to the first call needing the Admin API. It never lists SCIM nor
// reads activity: a create or delete needs neither, and the first sync call
// builds the roster snapshot (rosterFor).
func (s *Server) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	return s.configure(ctx, req, false, true)
}

// ConfigureSidecar configures a sidecar from its own environment. From then
// on Configure is refused: whoever reaches the port must not be able to point
// the plugin at other credentials or read them back. writes says whether the
// sidecar accepts Provision and Deprovision (it enforces that itself; GetInfo
// reports it).
func (s *Server) ConfigureSidecar(ctx context.Context, req *pluginv1.ConfigureRequest, writes bool) (*pluginv1.ConfigureResponse, error) {
	return s.configure(ctx, req, true, writes)
}

func (s *Server) configure(ctx context.Context, req *pluginv1.ConfigureRequest, sidecar, writes bool) (*pluginv1.ConfigureResponse, error) {
	s.mu.Lock()
	refused := s.sidecar
	s.mu.Unlock()
	if refused {
		return nil, status.Error(codes.PermissionDenied,
			"this plugin runs as a sidecar and is configured from its own environment; Configure from the network is refused")
	}
	set, err := s.buildSettings(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.settings, s.sidecar, s.writes = set, sidecar, writes
	s.roster, s.team = rosterCache{}, nil
	s.mu.Unlock()
	if !req.GetDeferKeyCheck() {
		if !teamKeyOff(set) {
			if _, err := s.readTeam(ctx, set); err != nil {
				return nil, err
			}
		}
		if err := s.checkOrg(ctx); err != nil {
			return nil, err
		}
	}
	var diags []*pluginv1.Diagnostic // those about the team come with GetInfo
	if set.scim == nil && !teamKeyOff(set) {
		diags = append(diags, syncOnly())
	}
	return &pluginv1.ConfigureResponse{Diagnostics: append(diags, orgDiagnostics(set)...)}, nil
}

func (s *Server) buildSettings(req *pluginv1.ConfigureRequest) (*settings, error) {
	retry := httpretry.Policy{AttemptTimeout: req.GetRequestTimeout().AsDuration()} // 0: the default
	if d := req.GetRequestTimeout(); d != nil && (!d.IsValid() || retry.AttemptTimeout < 0) {
		return nil, status.Error(codes.InvalidArgument, "the request timeout must be a positive duration")
	}
	set := &settings{removeUnmanaged: req.GetRemoveUnmanaged()}
	if key := req.GetOrgApiKey(); key != "" {
		org, err := cursororg.New(cursororg.Config{BaseURL: req.GetBaseUrl(), APIKey: key, Retry: retry, UserAgent: "baton-cursor-plugin/" + s.version})
		if err != nil {
			return nil, err
		}
		set.org = org
	}
	switch id := req.GetOrganizationId(); {
	case id != "" && set.org == nil:
		return nil, status.Error(codes.InvalidArgument, "cursor-organization-id needs cursor-org-api-key (BATON_CURSOR_ORG_API_KEY): team membership is changed with the Organization API key")
	case id != "" && !strings.HasPrefix(id, "org_"):
		return nil, status.Errorf(codes.InvalidArgument, "cursor-organization-id %q is not an organization id: it starts with org_", id)
	default:
		set.orgID = id
	}
	var admin adminAPI = noTeamKey{}
	if req.GetApiKey() != "" || set.org == nil {
		var err error
		if admin, err = s.newAdmin(cursorapi.Config{BaseURL: req.GetBaseUrl(), APIKey: req.GetApiKey(), Retry: retry}); err != nil {
			return nil, err
		}
	}
	set.admin = admin
	var err error
	if set.activityDays, err = activityDays(req); err != nil {
		return nil, err
	}
	set.activity = activityClient(admin)
	switch url, token := req.GetScimUrl(), req.GetScimToken(); {
	case teamKeyOff(set) && (url != "" || token != "" || set.removeUnmanaged):
		return nil, status.Error(codes.InvalidArgument, "cursor-scim-url, cursor-scim-token and cursor-remove-unmanaged need the team's cursor-api-key: set it, or leave them unset for an organization-only sync")
	case url == "" && token == "":
		if set.removeUnmanaged {
			return nil, status.Error(codes.InvalidArgument,
				"cursor-remove-unmanaged needs SCIM: set cursor-scim-url and cursor-scim-token too, or leave it off")
		}
	case url == "":
		return nil, status.Error(codes.InvalidArgument, "cursor-scim-token is set but cursor-scim-url is not: set both, or neither for sync-only")
	case token == "":
		return nil, status.Error(codes.InvalidArgument, "cursor-scim-url is set but cursor-scim-token is not: set both, or neither for sync-only")
	default:
		if set.scim, err = s.newSCIM(scim.Config{BaseURL: url, Token: token, Retry: retry}); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// GetInfo reports versions, features, team facts and diagnostics. Before
// Configure it still answers, with an error diagnostic and no team;
// versions_only answers without the team, so without asking Cursor.
func (s *Server) GetInfo(ctx context.Context, req *pluginv1.GetInfoRequest) (*pluginv1.GetInfoResponse, error) {
	resp := &pluginv1.GetInfoResponse{
		PluginVersion:   s.version,
		ProtocolVersion: handshake.ProtocolVersion,
		Features:        &pluginv1.Features{},
	}
	s.mu.Lock()
	set, sidecar, writes := s.settings, s.sidecar, s.writes
	s.mu.Unlock()
	if set == nil {
		resp.Diagnostics = []*pluginv1.Diagnostic{diag(pluginv1.Diagnostic_SEVERITY_ERROR,
			"the plugin is not configured yet: the host must call Configure first", "")}
		return resp, nil
	}
	resp.Features.Sidecar = sidecar
	resp.Features.Scim = set.scim != nil
	resp.Features.RemoveUnmanaged = set.removeUnmanaged
	resp.Features.Provisioning = writes
	resp.Features.Organization, resp.Features.OrgOnly = set.org != nil, teamKeyOff(set)
	if req.GetVersionsOnly() {
		return resp, nil
	}
	if err := s.checkOrg(ctx); err != nil { // proves the organization key (one request, kept for the sync)
		return nil, err
	}
	if resp.Features.OrgOnly {
		resp.Diagnostics = orgDiagnostics(set)
		return resp, nil
	}
	snap, err := s.rosterFor(ctx, "")
	if err != nil {
		return nil, err
	}
	resp.Team = snap.team
	resp.Diagnostics = append(diagnostics(set, snap), orgDiagnostics(set)...)
	return resp, nil
}

func syncOnly() *pluginv1.Diagnostic {
	return diag(pluginv1.Diagnostic_SEVERITY_INFO,
		"sync-only: SCIM is not configured, so accounts can be listed but not created or removed",
		"Set cursor-scim-url and cursor-scim-token to create and remove accounts.")
}

func diag(sev pluginv1.Diagnostic_Severity, summary, detail string) *pluginv1.Diagnostic {
	return &pluginv1.Diagnostic{Severity: sev, Summary: summary, Detail: detail}
}
