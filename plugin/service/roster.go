package service

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/scim"
)

// Cursor's GET /teams/members returns the whole team in one response and is
// limited to 20 requests a minute, so a sync fetches it once and pages from the
// copy. A snapshot is reused while calls keep coming (idle TTL) but never for
// longer than maxAge, so the next sync in a long-lived process sees fresh data.
const (
	rosterIdleTTL = 2 * time.Minute
	rosterMaxAge  = 15 * time.Minute
)

// unspecifiedRole stands in for a member row with an empty role string.
const unspecifiedRole = "unspecified"

type rosterCache struct {
	snap     *snapshot
	lastUsed time.Time
}

// snapshot is one roster fetch, shaped for paging: members sorted by key, one
// row per email, with the lists each kind of listing walks precomputed.
type snapshot struct {
	all          []*pluginv1.Member // every member, removed ones included
	active       []*pluginv1.Member
	activeByRole map[string][]*pluginv1.Member
	roles        []*pluginv1.Role
	unknownRoles []string
	team         *pluginv1.Team
	// activityDiags says what activity enrichment could not read (activity.go).
	activityDiags []*pluginv1.Diagnostic
}

// rosterLocked returns a fresh enough snapshot, fetching one if needed.
func (s *Server) rosterLocked(ctx context.Context) (*snapshot, error) {
	now := s.now()
	c := &s.roster
	if c.snap != nil && now.Sub(c.lastUsed) < rosterIdleTTL && now.Sub(c.snap.team.GetFetchedAt().AsTime()) < rosterMaxAge {
		c.lastUsed = now
		return c.snap, nil
	}
	start := now
	rows, err := s.settings.admin.ListMembers(ctx)
	if err != nil {
		s.logger.Error("fetching the Cursor roster failed", "error", err.Error())
		return nil, err
	}
	var users []scim.User
	if s.settings.scim != nil {
		if users, err = s.settings.scim.ListUsers(ctx); err != nil {
			s.logger.Error("listing Cursor's SCIM users failed", "error", err.Error())
			return nil, err
		}
	}
	snap := buildSnapshot(rows, users, start)
	s.enrich(ctx, snap)
	s.logger.Info("fetched the Cursor roster", "rows", len(rows), "scim_users", len(users), "accounts", len(snap.all),
		"duration", s.now().Sub(start).String())
	for _, r := range snap.unknownRoles {
		if !s.seenUnknownRoles[r] {
			s.seenUnknownRoles[r] = true
			s.logger.Warn("Cursor returned a role this plugin does not know; it is synced as its own role", "role", r)
		}
	}
	*c = rosterCache{snap: snap, lastUsed: s.now()}
	return snap, nil
}

// buildSnapshot keys team rows by lower-cased email, folds duplicates, marks
// SCIM-managed members, and adds SCIM users who are not team members yet.
func buildSnapshot(rows []cursorapi.Member, users []scim.User, fetchedAt time.Time) *snapshot {
	team := &pluginv1.Team{FetchedAt: timestamppb.New(fetchedAt)}
	all := make([]*pluginv1.Member, 0, len(rows))
	for _, r := range rows {
		email := strings.TrimSpace(r.Email)
		if email == "" {
			team.RowsWithoutEmail++
			continue
		}
		role := strings.TrimSpace(r.Role)
		if role == "" {
			role = unspecifiedRole
		}
		all = append(all, &pluginv1.Member{
			Key:      strings.ToLower(email),
			Email:    email,
			Name:     r.Name,
			Role:     role,
			Removed:  r.IsRemoved,
			CursorId: r.ID,
		})
	}
	all = foldDuplicates(all, team)
	all = addSCIM(all, users, team)

	snap := &snapshot{all: all, activeByRole: map[string][]*pluginv1.Member{}, team: team}
	for _, m := range all {
		switch {
		case m.PendingFirstLogin:
			team.PendingFirstLogin++
		case m.Removed:
			team.RemovedMembers++
		default:
			team.ActiveMembers++
			snap.active = append(snap.active, m)
			snap.activeByRole[m.Role] = append(snap.activeByRole[m.Role], m)
		}
	}
	snap.roles, snap.unknownRoles = roleCatalogue(all, snap.activeByRole)
	return snap
}

// foldDuplicates sorts by key and keeps one row per email: an active row wins,
// else Cursor's first (the sort is stable).
func foldDuplicates(all []*pluginv1.Member, team *pluginv1.Team) []*pluginv1.Member {
	slices.SortStableFunc(all, func(a, b *pluginv1.Member) int { return cmp.Compare(a.Key, b.Key) })
	kept := all[:0]
	for _, m := range all {
		if n := len(kept); n > 0 && kept[n-1].Key == m.Key {
			team.DuplicateRows++
			if kept[n-1].Removed && !m.Removed {
				kept[n-1] = m
			}
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

// addSCIM marks members that have a SCIM user and appends SCIM users who have
// not logged in yet (so are no team member): accounts without a role. all is
// sorted by key and stays so.
func addSCIM(all []*pluginv1.Member, users []scim.User, team *pluginv1.Team) []*pluginv1.Member {
	if len(users) == 0 {
		return all
	}
	pending := 0
	for _, u := range users {
		key := strings.ToLower(strings.TrimSpace(u.UserName))
		if key == "" {
			continue
		}
		i, found := slices.BinarySearchFunc(all[:len(all)-pending], key, func(m *pluginv1.Member, k string) int { return cmp.Compare(m.Key, k) })
		if found {
			if !all[i].ScimManaged {
				all[i].ScimManaged = true
				team.ScimManaged++
			}
			continue
		}
		all = append(all, &pluginv1.Member{
			Key:               key,
			Email:             strings.TrimSpace(u.UserName),
			Name:              strings.TrimSpace(u.GivenName + " " + u.FamilyName),
			ScimManaged:       true,
			PendingFirstLogin: u.Active,
			Removed:           !u.Active, // deactivated before it ever joined
		})
		pending++
	}
	if pending > 0 {
		all = foldDuplicates(all, team)
	}
	return all
}

// diagnosticsLocked lists what a person should know about this roster.
func (s *Server) diagnosticsLocked(snap *snapshot) []*pluginv1.Diagnostic {
	var out []*pluginv1.Diagnostic
	switch {
	case s.settings.scim == nil:
		out = append(out, diag(pluginv1.Diagnostic_SEVERITY_INFO,
			"sync-only: SCIM is not configured, so accounts can be listed but not created or removed",
			"Set cursor-scim-url and cursor-scim-token to create and remove accounts."))
	default:
		out = append(out, diag(pluginv1.Diagnostic_SEVERITY_INFO, fmt.Sprintf(
			"SCIM is configured: %d members are managed by SCIM, %d SCIM users have not logged in yet",
			snap.team.GetScimManaged(), snap.team.GetPendingFirstLogin()), ""))
	}
	if len(snap.unknownRoles) > 0 {
		out = append(out, diag(pluginv1.Diagnostic_SEVERITY_WARNING,
			fmt.Sprintf("Cursor returned role strings this connector does not know: %s", strings.Join(snap.unknownRoles, ", ")),
			"Each is synced as its own role so no grant is lost; please report it so it can get a proper name."))
	}
	if n := snap.team.GetDuplicateRows(); n > 0 {
		out = append(out, diag(pluginv1.Diagnostic_SEVERITY_WARNING,
			fmt.Sprintf("%d roster rows repeat another row's email (ignoring case); each email is one account and an active row wins", n), ""))
	}
	if n := snap.team.GetRowsWithoutEmail(); n > 0 {
		out = append(out, diag(pluginv1.Diagnostic_SEVERITY_WARNING,
			fmt.Sprintf("%d roster rows have no email and were skipped: accounts are keyed by email", n), ""))
	}
	return append(out, snap.activityDiags...)
}

// find returns the account with this key, or nil.
func (snap *snapshot) find(key string) *pluginv1.Member {
	i, ok := slices.BinarySearchFunc(snap.all, key, func(m *pluginv1.Member, k string) int { return cmp.Compare(m.Key, k) })
	if !ok {
		return nil
	}
	return snap.all[i]
}
