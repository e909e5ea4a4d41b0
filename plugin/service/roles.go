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
	for _, r := range unknown {
		desc := "A role string Cursor returned that baton-cursor does not know; synced as-is so no grant is lost."
		if r == unspecifiedRole {
			desc = "Cursor returned these members without a role."
		}
		roles = append(roles, &pluginv1.Role{
			Id: r, DisplayName: r, Description: desc, ActiveMembers: uint32(len(activeByRole[r])),
		})
	}
	return roles, unknown
}
