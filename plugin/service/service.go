// Package service implements cursor.plugin.v1 over Cursor's APIs. One
// implementation serves both go-plugin (gRPC) and the sidecar (Connect).
package service

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// Server is the cursor.plugin.v1 implementation.
type Server struct {
	pluginv1.UnimplementedPluginServiceServer

	version string
	logger  hclog.Logger
	now     func() time.Time
	// newLister builds the Admin API client from settings; tests replace it.
	newLister func(cursorapi.Config) (memberLister, error)

	mu       sync.Mutex // guards everything below; held across a roster fetch so callers share one
	settings *settings
	roster   rosterCache
	// seenUnknownRoles makes the "unknown role" warning appear once per process.
	seenUnknownRoles map[string]bool
}

// memberLister is the one Admin API call the service needs.
type memberLister interface {
	ListMembers(ctx context.Context) ([]cursorapi.Member, error)
}

type settings struct {
	baseURL string
	lister  memberLister
}

// New returns an unconfigured Server; the host calls Configure before anything else.
func New(version string, logger hclog.Logger) *Server {
	s := &Server{
		version:          version,
		logger:           logger,
		now:              time.Now,
		seenUnknownRoles: map[string]bool{},
	}
	s.newLister = func(cfg cursorapi.Config) (memberLister, error) {
		cfg.OnRetry = func(attempt int, wait time.Duration, reason string) {
			s.logger.Warn("Cursor request failed; retrying", "attempt", attempt, "wait", wait.String(), "reason", reason)
		}
		return cursorapi.New(cfg)
	}
	return s
}

// Configure stores the settings and checks them with one roster fetch, which
// the sync that follows reuses.
func (s *Server) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	lister, err := s.newLister(cursorapi.Config{
		BaseURL:   req.GetBaseUrl(),
		APIKey:    req.GetApiKey(),
		UserAgent: "baton-cursor-plugin/" + s.version,
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settings = &settings{baseURL: req.GetBaseUrl(), lister: lister}
	s.roster = rosterCache{}
	snap, err := s.rosterLocked(ctx)
	if err != nil {
		return nil, err
	}
	return &pluginv1.ConfigureResponse{Diagnostics: s.diagnosticsLocked(snap)}, nil
}

// GetInfo reports versions, features, team facts and diagnostics. Before
// Configure it still answers, with an error diagnostic and no team.
func (s *Server) GetInfo(ctx context.Context, _ *pluginv1.GetInfoRequest) (*pluginv1.GetInfoResponse, error) {
	resp := &pluginv1.GetInfoResponse{
		PluginVersion:   s.version,
		ProtocolVersion: handshake.ProtocolVersion,
		Features:        &pluginv1.Features{},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settings == nil {
		resp.Diagnostics = []*pluginv1.Diagnostic{diag(pluginv1.Diagnostic_SEVERITY_ERROR,
			"the plugin is not configured yet: the host must call Configure first", "")}
		return resp, nil
	}
	snap, err := s.rosterLocked(ctx)
	if err != nil {
		return nil, err
	}
	resp.Team = snap.team
	resp.Diagnostics = s.diagnosticsLocked(snap)
	return resp, nil
}

// Provision is not implemented yet: account creation through SCIM comes next.
func (s *Server) Provision(context.Context, *pluginv1.ProvisionRequest) (*pluginv1.ProvisionResponse, error) {
	return nil, status.Error(codes.FailedPrecondition,
		"baton-cursor-plugin: creating accounts is not available in this version (SCIM provisioning is not implemented yet)")
}

// Deprovision is not implemented yet: account removal through SCIM comes next.
func (s *Server) Deprovision(context.Context, *pluginv1.DeprovisionRequest) (*pluginv1.DeprovisionResponse, error) {
	return nil, status.Error(codes.FailedPrecondition,
		"baton-cursor-plugin: removing accounts is not available in this version (SCIM provisioning is not implemented yet)")
}

// snapshotLocked returns the roster for a read call, or FailedPrecondition
// before Configure.
func (s *Server) snapshotLocked(ctx context.Context) (*snapshot, error) {
	if s.settings == nil {
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: not configured: the host must call Configure first")
	}
	return s.rosterLocked(ctx)
}

func diag(sev pluginv1.Diagnostic_Severity, summary, detail string) *pluginv1.Diagnostic {
	return &pluginv1.Diagnostic{Severity: sev, Summary: summary, Detail: detail}
}
