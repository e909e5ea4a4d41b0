package service

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursororg"
)

// teamWrite checks a team membership write's settings and input. Cursor's
// only route replaces a person's whole team set, so writes stay off unless
// the operator set the organization id (the opt-in).
func (s *Server) teamWrite(teamID, rawEmail string) (*settings, string, error) {
	set, err := s.orgSettings()
	if err != nil {
		return nil, "", err
	}
	if set.orgID == "" {
		return nil, "", status.Errorf(codes.FailedPrecondition,
			"baton-cursor-plugin: team membership changes are off: Cursor's team-memberships sync replaces a person's whole team set, so they need the opt-in %s (BATON_CURSOR_ORGANIZATION_ID, the org_… id); set it to allow them", cursororg.OrganizationIDSetting)
	}
	if teamID == "" {
		return nil, "", status.Error(codes.InvalidArgument, "baton-cursor-plugin: team_id is required")
	}
	email, err := checkEmail(rawEmail)
	return set, strings.ToLower(email), err
}

// AddOrgTeamMember puts one person on one team, keeping their other teams.
func (s *Server) AddOrgTeamMember(ctx context.Context, req *pluginv1.AddOrgTeamMemberRequest) (*pluginv1.AddOrgTeamMemberResponse, error) {
	set, email, err := s.teamWrite(req.GetTeamId(), req.GetEmail())
	if err != nil {
		return nil, err
	}
	sent, err := set.org.AddToTeam(ctx, set.orgID, email, cursororg.ID(req.GetTeamId()))
	if err != nil {
		return nil, err
	}
	if !sent {
		return &pluginv1.AddOrgTeamMemberResponse{AlreadyMember: true, Message: fmt.Sprintf("%s is already on team %s; nothing was sent", email, req.GetTeamId())}, nil
	}
	s.forgetOrg()
	s.logger.Info("added a team member", "team", req.GetTeamId(), "email", email)
	return &pluginv1.AddOrgTeamMemberResponse{Message: fmt.Sprintf("added %s to team %s, keeping their other teams", email, req.GetTeamId())}, nil
}

// RemoveOrgTeamMember takes one person off one team, keeping their other teams.
func (s *Server) RemoveOrgTeamMember(ctx context.Context, req *pluginv1.RemoveOrgTeamMemberRequest) (*pluginv1.RemoveOrgTeamMemberResponse, error) {
	set, email, err := s.teamWrite(req.GetTeamId(), req.GetEmail())
	if err != nil {
		return nil, err
	}
	sent, err := set.org.RemoveFromTeam(ctx, set.orgID, email, cursororg.ID(req.GetTeamId()))
	if err != nil {
		return nil, err
	}
	if !sent {
		return &pluginv1.RemoveOrgTeamMemberResponse{AlreadyAbsent: true, Message: fmt.Sprintf("%s is not on team %s; nothing was sent", email, req.GetTeamId())}, nil
	}
	s.forgetOrg()
	s.logger.Info("removed a team member", "team", req.GetTeamId(), "email", email)
	return &pluginv1.RemoveOrgTeamMemberResponse{Message: fmt.Sprintf("removed %s from team %s, keeping their other teams", email, req.GetTeamId())}, nil
}

// forgetOrg drops the organization snapshot: its member pages hold the
// teams just changed.
func (s *Server) forgetOrg() {
	s.org.mu.Lock()
	s.org.snap = nil
	s.org.mu.Unlock()
}
