package service

import (
	"context"
	"slices"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// knownRoles are Cursor's documented team-member role strings, in catalogue
// order. The dashboard names differ from the API's; the descriptions say both.
var knownRoles = []struct{ id, name, description string }{
	{"owner", "Owner", "Team admin on a paid seat (the Cursor dashboard calls it Admin): manages members, billing, SSO and settings, and uses Cursor."},
	{"member", "Member", "Uses Cursor on a paid seat; no access to team administration."},
	{"free-owner", "Free Owner", "Team admin without a seat (the Cursor dashboard calls it Unpaid Admin): manages the team but has no product access."},
}

// shownRoles are role strings Cursor shows but does not document for the
// API. They join the catalogue, with a name and no warning, only when a row
// carries them. "Org Admin": since Sep 2026 team member lists include the
// linked organization's admins, labelled so (docs/cursor-api.md §2.1); the exact
// string /teams/members would send is a guess from that label.
var shownRoles = map[string]struct{ name, description string }{
	"Org Admin": {"Org Admin", "An admin of the Cursor organization the team belongs to, listed among the team's members (Cursor's dashboard labels them Org Admin); may hold no seat on this team."},
}

// ListRoles returns the role catalogue with active member counts.
func (s *Server) ListRoles(ctx context.Context, req *pluginv1.ListRolesRequest) (*pluginv1.ListRolesResponse, error) {
	snap, err := s.rosterFor(ctx, req.GetSyncId())
	if err != nil {
		return nil, err
	}
	return &pluginv1.ListRolesResponse{Roles: snap.roles}, nil
}

// roleCatalogue lists the known roles, then every other role string any row
// carries (removed rows included), so no role Cursor reports is ever dropped.
// It also returns the strings to warn about: those neither known nor shown.
func roleCatalogue(all []*pluginv1.Member, activeByRole map[string][]*pluginv1.Member) ([]*pluginv1.Role, []string) {
	roles := make([]*pluginv1.Role, 0, len(knownRoles)+1)
	known := map[string]bool{}
	for _, k := range knownRoles {
		known[k.id] = true
		roles = append(roles, &pluginv1.Role{
			Id: k.id, DisplayName: k.name, Description: k.description, Known: true,
			ActiveMembers: uint32(len(activeByRole[k.id])),
		})
	}
	var unknown []string
	for _, m := range all {
		if r := m.GetRole(); r != "" && !known[r] { // "" is a SCIM user who has no role yet
			known[r] = true
			unknown = append(unknown, r)
		}
	}
	slices.Sort(unknown)
	var warn []string // the strings nobody has described
	for _, r := range unknown {
		role := &pluginv1.Role{
			Id: r, DisplayName: r, ActiveMembers: uint32(len(activeByRole[r])),
			Description: "A role string Cursor returned that baton-cursor does not know; synced as-is so no grant is lost.",
		}
		switch shown, ok := shownRoles[r]; {
		case ok:
			role.DisplayName, role.Description, role.Known = shown.name, shown.description, true
		case r == unspecifiedRole:
			role.Description = "Cursor returned these members without a role."
			warn = append(warn, r)
		default:
			warn = append(warn, r)
		}
		roles = append(roles, role)
	}
	return roles, warn
}
