package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/cursororg"
)

// groupState is one group as a membership write needs it: read fresh
// before every write, so a grant of what is held (or a revoke of what is
// not) sends nothing.
type groupState struct {
	what    string            // `the organization group "Engineering" (g_1)`, for messages
	scimDir string            // the directory group it is synced from; "" when manual
	members map[string]string // lower-cased email -> the user id the group's rows carry
	holder  map[string]string // billing only: email -> `what` of the billing group the person is in
	org     *cursororg.Client // finds a person's user id for a grant
	add     func(ctx context.Context, userID string) error
	remove  func(ctx context.Context, userID string) error
}

// readGroup reads the group's kind, SCIM link and members.
func (s *Server) readGroup(ctx context.Context, kind pluginv1.GroupKind, id string) (*groupState, error) {
	set, err := s.orgSettings()
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "baton-cursor-plugin: group_id is required")
	}
	g := &groupState{members: map[string]string{}, org: set.org}
	one := func(f func(context.Context, string, []string) error) func(context.Context, string) error {
		return func(ctx context.Context, uid string) error { return f(ctx, id, []string{uid}) }
	}
	switch kind {
	case pluginv1.GroupKind_GROUP_KIND_ORGANIZATION:
		og, err := set.org.Group(ctx, id)
		if status.Code(err) == codes.NotFound {
			return nil, status.Errorf(codes.NotFound, "baton-cursor-plugin: Cursor's organization has no group %s; sync again to see the current groups", id)
		}
		if err != nil {
			return nil, err
		}
		ms, err := set.org.GroupMembers(ctx, id)
		if err != nil {
			return nil, err
		}
		g.what, g.scimDir = fmt.Sprintf("the organization group %q (%s)", og.Name, id), deref(og.DirectoryGroupID)
		for _, m := range ms {
			g.members[m.Key()] = string(m.UserID)
		}
		g.add = func(ctx context.Context, uid string) error {
			_, err := set.org.AddGroupMembers(ctx, id, []string{uid})
			return err
		}
		g.remove = func(ctx context.Context, uid string) error {
			_, err := set.org.RemoveGroupMembers(ctx, id, []string{uid})
			return err
		}
	case pluginv1.GroupKind_GROUP_KIND_TEAM_DIRECTORY:
		c, err := teamGroups(set, kind)
		if err != nil {
			return nil, err
		}
		gs, err := c.DirectoryGroups(ctx)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(gs, func(g cursorapi.DirectoryGroup) bool { return g.ID == id })
		if i < 0 {
			return nil, status.Errorf(codes.NotFound, "baton-cursor-plugin: Cursor's team has no directory group %s; sync again to see the current groups", id)
		}
		ms, err := c.DirectoryGroupMembers(ctx, id)
		if err != nil {
			return nil, err
		}
		g.what, g.scimDir = fmt.Sprintf("the team directory group %q (%s)", gs[i].Name, id), deref(gs[i].DirectoryGroupID)
		for _, m := range ms {
			g.members[strings.ToLower(m.Email)] = m.UserID
		}
		g.add, g.remove = one(c.AddDirectoryGroupMembers), one(c.RemoveDirectoryGroupMembers)
	case pluginv1.GroupKind_GROUP_KIND_BILLING:
		c, err := teamGroups(set, kind)
		if err != nil {
			return nil, err
		}
		gs, _, err := c.BillingGroups(ctx)
		if err != nil {
			return nil, err
		}
		g.holder = map[string]string{}
		for _, bg := range gs {
			what := fmt.Sprintf("the billing group %q (%s)", bg.Name, bg.ID)
			for _, m := range bg.CurrentMembers {
				k := strings.ToLower(m.Email)
				if bg.ID == id {
					g.members[k] = m.UserID
				} else {
					g.holder[k] = what
				}
			}
			if bg.ID == id {
				g.what, g.scimDir = what, deref(bg.DirectoryGroupID)
			}
		}
		if g.what == "" {
			return nil, status.Errorf(codes.NotFound, "baton-cursor-plugin: Cursor's team has no billing group %s; sync again to see the current groups", id)
		}
		g.add, g.remove = one(c.AddBillingGroupMembers), one(c.RemoveBillingGroupMembers)
	default:
		return nil, status.Errorf(codes.InvalidArgument, "baton-cursor-plugin: group kind %s is not one of organization, team directory or billing", kind)
	}
	return g, nil
}

// refuseSynced: Cursor refuses API writes to a group the identity provider
// owns; saying so before sending names where to make the change.
func (g *groupState) refuseSynced() error {
	if g.scimDir == "" {
		return nil
	}
	return status.Errorf(codes.FailedPrecondition,
		"baton-cursor-plugin: %s is synced from the identity provider through SCIM (directory group %s): change its members in the identity provider, not in Cursor", g.what, g.scimDir)
}

// AddOrgGroupMember puts one person in a manual group.
func (s *Server) AddOrgGroupMember(ctx context.Context, req *pluginv1.AddOrgGroupMemberRequest) (*pluginv1.AddOrgGroupMemberResponse, error) {
	email, err := checkEmail(req.GetEmail())
	if err != nil {
		return nil, err
	}
	email = strings.ToLower(email)
	g, err := s.readGroup(ctx, req.GetKind(), req.GetGroupId())
	if err != nil {
		return nil, err
	}
	if _, ok := g.members[email]; ok {
		return &pluginv1.AddOrgGroupMemberResponse{AlreadyMember: true,
			Message: fmt.Sprintf("%s is already in %s; nothing was sent", email, g.what)}, nil
	}
	if err := g.refuseSynced(); err != nil {
		return nil, err
	}
	if other := g.holder[email]; other != "" {
		// Cursor refuses the add anyway; moving would silently take the person
		// out of a group someone else may have granted.
		return nil, status.Errorf(codes.FailedPrecondition,
			"baton-cursor-plugin: %s is in %s, and a person is in at most one billing group: revoke that membership first, then grant this one", email, other)
	}
	found, err := g.org.FindMembers(ctx, []string{email})
	if err != nil {
		return nil, err
	}
	m, ok := found[email]
	if !ok || m.UserID == "" {
		return nil, status.Errorf(codes.NotFound, "baton-cursor-plugin: %s is not a member of the Cursor organization; add the person to a team first", email)
	}
	if err := g.add(ctx, string(m.UserID)); err != nil {
		return nil, err
	}
	s.logger.Info("added a group member", "group", g.what, "email", email)
	return &pluginv1.AddOrgGroupMemberResponse{Message: fmt.Sprintf("added %s to %s", email, g.what)}, nil
}

// RemoveOrgGroupMember takes one person out of a manual group.
func (s *Server) RemoveOrgGroupMember(ctx context.Context, req *pluginv1.RemoveOrgGroupMemberRequest) (*pluginv1.RemoveOrgGroupMemberResponse, error) {
	email, err := checkEmail(req.GetEmail())
	if err != nil {
		return nil, err
	}
	email = strings.ToLower(email)
	g, err := s.readGroup(ctx, req.GetKind(), req.GetGroupId())
	if err != nil {
		return nil, err
	}
	uid, ok := g.members[email]
	if !ok {
		return &pluginv1.RemoveOrgGroupMemberResponse{AlreadyAbsent: true,
			Message: fmt.Sprintf("%s is not in %s; nothing was sent", email, g.what)}, nil
	}
	if err := g.refuseSynced(); err != nil {
		return nil, err
	}
	if err := g.remove(ctx, uid); err != nil { // the id from the group's own row: the form its routes take
		return nil, err
	}
	s.logger.Info("removed a group member", "group", g.what, "email", email)
	return &pluginv1.RemoveOrgGroupMemberResponse{Message: fmt.Sprintf("removed %s from %s", email, g.what)}, nil
}
