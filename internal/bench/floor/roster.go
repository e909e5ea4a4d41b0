package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// roster is the team shaped as plugin/service/roster.go shapes it, in the
// contract's types, so the floor maps it with host/connector's own functions.
type roster struct {
	all          []*pluginv1.Member // sorted by key, removed members included
	activeByRole map[string][]*pluginv1.Member
	roles        []*pluginv1.Role
}

// Cursor's documented roles, in catalogue order (plugin/service/roles.go).
var knownRoles = []*pluginv1.Role{
	{Id: "owner", DisplayName: "Owner", Description: "Team admin on a paid seat (the Cursor dashboard calls it Admin): manages members, billing, SSO and settings, and uses Cursor."},
	{Id: "member", DisplayName: "Member", Description: "Uses Cursor on a paid seat; no access to team administration."},
	{Id: "free-owner", DisplayName: "Free Owner", Description: "Team admin without a seat (the Cursor dashboard calls it Unpaid Admin): manages the team but has no product access."},
}

const unspecifiedRole = "unspecified"

// newRoster generates exactly the rows the simulated tenant serves and keys
// them like the plugin: lower-cased email, duplicates folded (an active row
// wins), empty roles named "unspecified".
func newRoster(members, seed int) (*roster, error) {
	tenant, err := simulator.New(simulator.Config{Members: members, Seed: int64(seed), APIKey: simulator.DefaultAPIKey})
	if err != nil {
		return nil, err
	}
	rows := tenant.Members()
	all := make([]*pluginv1.Member, 0, len(rows))
	for _, r := range rows {
		email := strings.TrimSpace(r.Email)
		if email == "" {
			continue
		}
		m := &pluginv1.Member{Key: strings.ToLower(email), Email: email, Name: r.Name, Role: strings.TrimSpace(r.Role), Removed: r.IsRemoved}
		if m.Role == "" {
			m.Role = unspecifiedRole
		}
		switch id := r.ID.(type) {
		case string:
			m.CursorId = id
		case int64:
			m.CursorId = strconv.FormatInt(id, 10)
		default:
			m.CursorId = fmt.Sprint(id)
		}
		all = append(all, m)
	}
	slices.SortStableFunc(all, func(a, b *pluginv1.Member) int { return cmp.Compare(a.Key, b.Key) })
	kept := all[:0]
	for _, m := range all {
		if n := len(kept); n > 0 && kept[n-1].Key == m.Key {
			if kept[n-1].Removed && !m.Removed {
				kept[n-1] = m
			}
			continue
		}
		kept = append(kept, m)
	}

	ro := &roster{all: kept, activeByRole: map[string][]*pluginv1.Member{}}
	for _, m := range kept {
		if !m.Removed {
			ro.activeByRole[m.Role] = append(ro.activeByRole[m.Role], m)
		}
	}
	known := map[string]bool{}
	for _, k := range knownRoles {
		known[k.Id] = true
		ro.roles = append(ro.roles, &pluginv1.Role{Id: k.Id, DisplayName: k.DisplayName, Description: k.Description,
			Known: true, ActiveMembers: uint32(len(ro.activeByRole[k.Id]))})
	}
	var unknown []string
	for _, m := range kept {
		if !known[m.Role] {
			known[m.Role] = true
			unknown = append(unknown, m.Role)
		}
	}
	slices.Sort(unknown)
	for _, r := range unknown {
		desc := "A role string Cursor returned that baton-cursor does not know; synced as-is so no grant is lost."
		if r == unspecifiedRole {
			desc = "Cursor returned these members without a role."
		}
		ro.roles = append(ro.roles, &pluginv1.Role{Id: r, DisplayName: r, Description: desc, ActiveMembers: uint32(len(ro.activeByRole[r]))})
	}
	return ro, nil
}
