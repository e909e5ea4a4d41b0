package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// member is one account, as plugin/service/roster.go shapes a team row.
type member struct {
	key, email, name, role, cursorID string
	removed                          bool
}

type role struct {
	id, name, description string
	known                 bool
	active                int
}

type roster struct {
	all          []*member // sorted by key, removed members included
	activeByRole map[string][]*member
	roles        []role
}

// Cursor's documented roles, in catalogue order (plugin/service/roles.go).
var knownRoles = []role{
	{id: "owner", name: "Owner", description: "Team admin on a paid seat (the Cursor dashboard calls it Admin): manages members, billing, SSO and settings, and uses Cursor."},
	{id: "member", name: "Member", description: "Uses Cursor on a paid seat; no access to team administration."},
	{id: "free-owner", name: "Free Owner", description: "Team admin without a seat (the Cursor dashboard calls it Unpaid Admin): manages the team but has no product access."},
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
	all := make([]*member, 0, len(rows))
	for _, r := range rows {
		email := strings.TrimSpace(r.Email)
		if email == "" {
			continue
		}
		m := &member{key: strings.ToLower(email), email: email, name: r.Name, role: strings.TrimSpace(r.Role), removed: r.IsRemoved}
		if m.role == "" {
			m.role = unspecifiedRole
		}
		switch id := r.ID.(type) {
		case string:
			m.cursorID = id
		case int64:
			m.cursorID = strconv.FormatInt(id, 10)
		default:
			m.cursorID = fmt.Sprint(id)
		}
		all = append(all, m)
	}
	slices.SortStableFunc(all, func(a, b *member) int { return cmp.Compare(a.key, b.key) })
	kept := all[:0]
	for _, m := range all {
		if n := len(kept); n > 0 && kept[n-1].key == m.key {
			if kept[n-1].removed && !m.removed {
				kept[n-1] = m
			}
			continue
		}
		kept = append(kept, m)
	}

	ro := &roster{all: kept, activeByRole: map[string][]*member{}}
	for _, m := range kept {
		if !m.removed {
			ro.activeByRole[m.role] = append(ro.activeByRole[m.role], m)
		}
	}
	known := map[string]bool{}
	for _, k := range knownRoles {
		known[k.id] = true
		k.known, k.active = true, len(ro.activeByRole[k.id])
		ro.roles = append(ro.roles, k)
	}
	var unknown []string
	for _, m := range kept {
		if !known[m.role] {
			known[m.role] = true
			unknown = append(unknown, m.role)
		}
	}
	slices.Sort(unknown)
	for _, r := range unknown {
		desc := "A role string Cursor returned that baton-cursor does not know; synced as-is so no grant is lost."
		if r == unspecifiedRole {
			desc = "Cursor returned these members without a role."
		}
		ro.roles = append(ro.roles, role{id: r, name: r, description: desc, active: len(ro.activeByRole[r])})
	}
	return ro, nil
}
