package service

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/scim"
)

// unspecifiedRole stands in for a member row with an empty role string.
const unspecifiedRole = "unspecified"

// snapshot is one roster fetch, shaped for paging: members sorted by key, one
// row per email, with the lists each kind of listing walks precomputed.
type snapshot struct {
	id           string             // names it in page tokens; unique across plugin processes
	all          []*pluginv1.Member // every member, removed ones included
	active       []*pluginv1.Member
	activeByRole map[string][]*pluginv1.Member
	roles        []*pluginv1.Role
	unknownRoles []string
	team         *pluginv1.Team
	// activityDiags says what activity enrichment could not read (activity.go).
	activityDiags []*pluginv1.Diagnostic
	// scimTwins counts SCIM users whose userName repeats another's, ignoring case.
	scimTwins int
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
			CursorId: cursorID(r),
		})
	}
	all = foldDuplicates(all, team)
	all, scimTwins := addSCIM(all, users, team)

	snap := &snapshot{id: newSnapshotID(), all: all, activeByRole: map[string][]*pluginv1.Member{}, team: team, scimTwins: scimTwins}
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

// cursorID is the member's Cursor user id as Cursor's own client takes it
// (docs/cursor-api.md §2.1.1): whichever of publicId and id is a "user_…" id,
// publicId first; else whichever is present, publicId first (a numeric id
// as text).
func cursorID(r cursorapi.Member) string {
	for _, id := range []string{r.PublicID, r.ID} {
		if strings.HasPrefix(id, "user_") {
			return id
		}
	}
	return cmp.Or(r.PublicID, r.ID)
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
// not logged in yet (so are no team member): accounts without a role, one per
// email. all is sorted by key and stays so. It returns how many SCIM users
// repeat another's userName (ignoring case): SCIM's duplicates, not the roster's.
func addSCIM(all []*pluginv1.Member, users []scim.User, team *pluginv1.Team) ([]*pluginv1.Member, int) {
	if len(users) == 0 {
		return all, 0
	}
	pending, twins := 0, 0
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		key := strings.ToLower(strings.TrimSpace(u.UserName))
		if key == "" {
			continue
		}
		if seen[key] {
			twins++
			continue
		}
		seen[key] = true
		i, found := slices.BinarySearchFunc(all[:len(all)-pending], key, func(m *pluginv1.Member, k string) int { return cmp.Compare(m.Key, k) })
		if found {
			if !all[i].ScimManaged {
				all[i].ScimManaged = true
				team.ScimManaged++
			}
			continue
		}
		all = append(all, scimAccount(u))
		pending++
	}
	if pending > 0 {
		all = foldDuplicates(all, team) // sorts; the keys appended are new and distinct
	}
	return all, twins
}

// diagnostics lists what a person should know about this roster.
func diagnostics(set *settings, snap *snapshot) []*pluginv1.Diagnostic {
	var out []*pluginv1.Diagnostic
	switch {
	case set.scim == nil:
		out = append(out, syncOnly())
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
	if snap.scimTwins > 0 {
		out = append(out, diag(pluginv1.Diagnostic_SEVERITY_WARNING,
			fmt.Sprintf("%d SCIM users repeat another SCIM user's userName (ignoring case); each email is one account, and deleting it is refused until the duplicate is removed in your identity provider", snap.scimTwins), ""))
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

// newSnapshotID is 64 random bits, URL-safe (no '.', which separates the
// parts of a page token).
func newSnapshotID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
