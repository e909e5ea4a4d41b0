package service

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/scim"
)

// Cursor's GET /teams/members returns the whole team in one response and is
// limited to 20 requests a minute, so a sync fetches it once and pages from the
// copy. A snapshot is reused while calls keep coming (idle TTL) but never for
// longer than maxAge, so the next sync in a long-lived process sees fresh data.
//
// A sync that names itself (sync_id) is pinned to the snapshot its first call
// got, whatever its age, so its users and grants never mix two rosters. A pin
// lives while its sync keeps calling (pinIdleTTL between calls), and only a few
// are kept, least recently used dropped first: each may hold a whole roster.
const (
	rosterIdleTTL = 2 * time.Minute
	rosterMaxAge  = 15 * time.Minute
	pinIdleTTL    = 5 * time.Minute
	maxPins       = 4
)

// unspecifiedRole stands in for a member row with an empty role string.
const unspecifiedRole = "unspecified"

type rosterCache struct {
	current  *snapshot // what a call without a pin starts from
	lastUsed time.Time
	pins     map[string]*pin // by sync id
}

type pin struct {
	snap     *snapshot
	lastUsed time.Time
}

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

// rosterFetch is one GET /teams/members (and SCIM listing) that concurrent
// callers share. It runs on its own context, cancelled when the last caller
// waiting for it gives up, so no caller waits behind another's retries longer
// than it wants to and nobody holds s.mu while Cursor answers.
type rosterFetch struct {
	set        *settings
	writeCount uint64        // Server.writeCount when it began: one begun before a write never becomes current
	done       chan struct{} // closed when snap and err are set
	snap       *snapshot
	err        error
	waiters    int // guarded by Server.mu
	cancel     context.CancelFunc
}

// rosterFor returns the snapshot for a read call: the sync's pinned one, else
// the current one if fresh enough, else a new fetch (shared with concurrent
// callers). syncID "" pins nothing.
func (s *Server) rosterFor(ctx context.Context, syncID string) (*snapshot, error) {
	s.mu.Lock()
	if s.settings == nil {
		s.mu.Unlock()
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: not configured: the host must call Configure first")
	}
	now := s.now()
	c := &s.roster
	if p := c.pins[syncID]; syncID != "" && p != nil && now.Sub(p.lastUsed) < pinIdleTTL {
		p.lastUsed = now
		s.mu.Unlock()
		return p.snap, nil
	}
	if c.current != nil && now.Sub(c.lastUsed) < rosterIdleTTL && now.Sub(c.current.team.GetFetchedAt().AsTime()) < rosterMaxAge {
		c.lastUsed = now
		snap := s.pinLocked(syncID, c.current)
		s.mu.Unlock()
		return snap, nil
	}
	f := s.fetchLocked(ctx)
	s.mu.Unlock()

	snap, err := s.await(ctx, f)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.set != s.settings { // reconfigured meanwhile: pin nothing of the old settings
		return snap, nil
	}
	return s.pinLocked(syncID, snap), nil // a concurrent call of the same sync may have pinned first
}

// heldLocked returns the snapshot with this id if the plugin still holds it.
func (s *Server) heldLocked(id string) *snapshot {
	if c := s.roster.current; c != nil && c.id == id {
		return c
	}
	for _, p := range s.roster.pins {
		if p.snap.id == id {
			return p.snap
		}
	}
	return nil
}

// pinLocked returns the snapshot syncID is pinned to, pinning snap if it is
// not pinned yet ("" pins nothing). It drops pins idle too long and, beyond
// maxPins, the least recently used.
func (s *Server) pinLocked(syncID string, snap *snapshot) *snapshot {
	now := s.now()
	c := &s.roster
	for id, p := range c.pins {
		if now.Sub(p.lastUsed) >= pinIdleTTL {
			delete(c.pins, id)
		}
	}
	if syncID == "" {
		return snap
	}
	if p := c.pins[syncID]; p != nil {
		p.lastUsed = now
		return p.snap
	}
	if c.pins == nil {
		c.pins = map[string]*pin{}
	}
	for len(c.pins) >= maxPins {
		oldest := ""
		for id, p := range c.pins {
			if oldest == "" || p.lastUsed.Before(c.pins[oldest].lastUsed) {
				oldest = id
			}
		}
		delete(c.pins, oldest)
	}
	c.pins[syncID] = &pin{snap: snap, lastUsed: now}
	s.logger.Debug("pinned a sync to a roster snapshot", "sync_id", syncID, "snapshot", snap.id)
	return snap
}

// fetchLocked joins the fetch in flight for the current settings or starts one.
// forgetRoster detaches a fetch begun before a write, so nobody joins it later.
func (s *Server) fetchLocked(ctx context.Context) *rosterFetch {
	if f := s.fetching; f != nil && f.set == s.settings && f.writeCount == s.writeCount {
		f.waiters++
		return f
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &rosterFetch{set: s.settings, writeCount: s.writeCount, done: make(chan struct{}), waiters: 1, cancel: cancel}
	s.fetching = f
	go func() {
		snap, err := s.fetchRoster(fctx, f.set)
		cancel()
		s.mu.Lock()
		f.snap, f.err = snap, err
		if s.fetching == f {
			s.fetching = nil
		}
		if s.settings == f.set {
			s.noteFetchLocked(snap, err, f.writeCount == s.writeCount)
		}
		s.mu.Unlock()
		close(f.done)
	}()
	return f
}

// await waits for f, or until ctx ends; the last caller to leave cancels it.
func (s *Server) await(ctx context.Context, f *rosterFetch) (*snapshot, error) {
	select {
	case <-f.done:
		return f.snap, f.err
	case <-ctx.Done():
		s.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if s.fetching == f {
				s.fetching = nil
			}
		}
		s.mu.Unlock()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// noteFetchLocked keeps a fetched snapshot as the current one, unless the
// plugin wrote to Cursor since the fetch began (current false): the snapshot
// may predate the write. It tracks whether Cursor accepts the key either way,
// for the sidecar's health.
func (s *Server) noteFetchLocked(snap *snapshot, err error, current bool) {
	switch code := status.Code(err); {
	case err == nil:
		if current {
			s.roster.current, s.roster.lastUsed = snap, s.now()
		}
		s.serving = true
		for _, r := range snap.unknownRoles {
			if !s.seenUnknownRoles[r] {
				s.seenUnknownRoles[r] = true
				s.logger.Warn("Cursor returned a role this plugin does not know; it is synced as its own role", "role", r)
			}
		}
	case code == codes.Unauthenticated || code == codes.PermissionDenied:
		s.serving = false
	}
}

// Serving is true once a roster was fetched, and false again while Cursor
// rejects the key (the sidecar's health reports it).
func (s *Server) Serving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serving
}

// fetchRoster asks Cursor for the team (and the SCIM directory, when
// configured) and builds a snapshot. It holds no lock.
func (s *Server) fetchRoster(ctx context.Context, set *settings) (*snapshot, error) {
	start := s.now()
	// The SCIM directory is listed, and activity read, while the roster
	// downloads: all are mostly waiting on Cursor.
	pass := s.startEnrich(ctx, set)
	defer pass.stop()
	var (
		users             []scim.User
		scimErr           error
		scimDone          = make(chan struct{})
		scimCtx, stopSCIM = context.WithCancel(ctx)
	)
	defer stopSCIM()
	if dir := set.scim; dir != nil {
		go func() {
			defer close(scimDone)
			users, scimErr = dir.ListUsers(scimCtx)
		}()
	} else {
		close(scimDone)
	}
	rows, readAt, err := s.rowsForSnapshot(ctx, set)
	if err != nil {
		stopSCIM()
		<-scimDone
		s.logger.Error("fetching the Cursor roster failed", "error", err.Error())
		return nil, err
	}
	pass.rosterIn(rows) // the rest of enrichment need not wait for the SCIM listing

	<-scimDone
	if scimErr != nil {
		s.logger.Error("listing Cursor's SCIM users failed", "error", scimErr.Error())
		return nil, scimErr
	}
	snap := buildSnapshot(rows, users, readAt)
	pass.finish(snap)
	if err := ctx.Err(); err != nil {
		// Every caller left during enrichment: its *_unknown fields say
		// "cancelled", not what Cursor holds, so nobody may reuse it.
		return nil, status.FromContextError(err).Err()
	}
	s.logger.Info("fetched the Cursor roster", "rows", len(rows), "scim_users", len(users), "accounts", len(snap.all),
		"duration", s.now().Sub(start).String())
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
// (cursor-api.md §2.1.1): whichever of publicId and id is a "user_…" id,
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
