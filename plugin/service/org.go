package service

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/cursororg"
)

// handBack: when the pacer's next slot is further away than this, a call
// answers "come back then" instead of blocking (baton-sdk waits it out and
// calls again with the same token), so no call sits for most of a minute.
const handBack = 5 * time.Second

// orgCache is the organization snapshot of the sync in progress: member
// pages by Cursor page number, filled as the sync reads them. The
// unfiltered listing hands out one Cursor page a call; teams and the
// filtered listings need every page and so read what is missing, within
// the pace. One snapshot is kept: a new sync_id starts a new one.
type orgCache struct {
	mu   sync.Mutex // held while a page is fetched: organization reads are paced one at a time anyway
	snap *orgSnap
	// handBacks counts the "come back at" answers this process gave.
	handBacks atomic.Int64
}

type orgSnap struct {
	syncID  string
	set     *settings
	pages   map[int][]cursororg.Member
	total   int // Cursor's totalCount of the first page read; -1 unknown
	last    int // the page that said no page follows; 0 unknown
	drifted bool
	base    int64 // the key's request count when the snapshot began: what this sync sent is the difference
	backs   int64 // handBacks when the snapshot began
	logged  bool  // the "members read" line was written
}

// noTeamKey stands in for the Admin API when only the organization key is
// configured: every team-only call says so.
type noTeamKey struct{}

var errNoTeamKey = status.Error(codes.FailedPrecondition,
	"baton-cursor-plugin: no team Admin API key is configured (cursor-api-key, BATON_CURSOR_API_KEY): the team's roster, roles, activity and SCIM are off; only the organization is synced")

func (noTeamKey) ListMembers(context.Context) ([]cursorapi.Member, error) { return nil, errNoTeamKey }
func (noTeamKey) RemoveMember(context.Context, string) (cursorapi.RemoveResult, error) {
	return cursorapi.RemoveResult{}, errNoTeamKey
}

func teamKeyOff(set *settings) bool { _, off := set.admin.(noTeamKey); return off }

// orgDiagnostics says what the organization settings turn on or off.
func orgDiagnostics(set *settings) []*pluginv1.Diagnostic {
	switch {
	case set.org == nil:
		return nil
	case teamKeyOff(set):
		return []*pluginv1.Diagnostic{diag(pluginv1.Diagnostic_SEVERITY_INFO,
			"organization only: no team Admin API key (cursor-api-key), so the team's roster, roles, activity, directory and billing groups and SCIM are off",
			"Set cursor-api-key too to sync the team key's team as well.")}
	}
	return []*pluginv1.Diagnostic{diag(pluginv1.Diagnostic_SEVERITY_INFO,
		"the organization is synced: teams, organization roles and groups (Organization API, 20 requests a minute)", "")}
}

// checkOrg reads the organization's first member page: one request that
// proves the key, kept for the sync that follows.
func (s *Server) checkOrg(ctx context.Context) error {
	set := s.currentSettings()
	if set == nil || set.org == nil {
		return nil
	}
	snap := s.orgSnapshot(set, "")
	return s.orgPage(ctx, snap, 1, -1)
}

func (s *Server) currentSettings() *settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// orgSettings is the settings of a ListOrg* call, or why it cannot be served.
func (s *Server) orgSettings() (*settings, error) {
	set := s.currentSettings()
	switch {
	case set == nil:
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: not configured: the host must call Configure first")
	case set.org == nil:
		return nil, status.Errorf(codes.FailedPrecondition, "baton-cursor-plugin: no Organization API key is configured (%s, %s)", cursororg.Setting, cursororg.EnvVar)
	}
	return set, nil
}

// orgSnapshot returns the snapshot of syncID: the held one when it belongs
// to that sync (or to none yet, as Configure's), else a new one.
func (s *Server) orgSnapshot(set *settings, syncID string) *orgSnap {
	c := &s.org
	c.mu.Lock()
	defer c.mu.Unlock()
	if sn := c.snap; sn != nil && sn.set == set && (sn.syncID == syncID || sn.syncID == "" || syncID == "") {
		if syncID != "" {
			sn.syncID = syncID
		}
		return sn
	}
	c.snap = &orgSnap{syncID: syncID, set: set, pages: map[int][]cursororg.Member{}, total: -1, base: set.org.Pacer().Requests(), backs: c.handBacks.Load()}
	return c.snap
}

// orgPage makes sure page n is in snap: read now if the pace allows,
// else a "come back later" answer. total is the page token's, when the
// snapshot has none yet (a resumed sync in a new plugin process).
func (s *Server) orgPage(ctx context.Context, snap *orgSnap, n, total int) error {
	c := &s.org
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := snap.pages[n]; ok {
		return nil
	}
	if snap.total >= 0 {
		total = snap.total
	}
	if err := s.paced(snap.set.org); err != nil {
		return err
	}
	p, err := snap.set.org.MembersPage(ctx, cursororg.MemberFilter{}, cursororg.MembersToken(n, max(total, 0)))
	if err != nil {
		return err
	}
	snap.pages[n] = p.Items
	if snap.total < 0 {
		snap.total = p.TotalCount
	}
	if p.Next == "" {
		snap.last = n
	}
	if p.Changed && !snap.drifted {
		snap.drifted = true
		s.logger.Warn("the organization's member count changed during the sync: a person who joined or left meanwhile may be missed until the next sync",
			"first_count", snap.total, "now", p.TotalCount)
	}
	s.logger.Debug("organization page read", "page", n, "requests_this_sync", snap.set.org.Pacer().Requests()-snap.base)
	return nil
}

// orgAll reads every missing page (within the pace) and returns the
// members in Cursor's order, each person once.
func (s *Server) orgAll(ctx context.Context, snap *orgSnap) ([]cursororg.Member, error) {
	for n := 1; ; n++ {
		if err := s.orgPage(ctx, snap, n, -1); err != nil {
			return nil, err
		}
		s.org.mu.Lock()
		done := snap.last != 0 && n >= snap.last
		s.org.mu.Unlock()
		if done {
			break
		}
	}
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	seen := map[string]bool{}
	var out []cursororg.Member
	for n := 1; n <= snap.last; n++ {
		for _, m := range snap.pages[n] {
			if k := m.Key(); k != "" && !seen[k] {
				seen[k] = true
				out = append(out, m)
			}
		}
	}
	if !snap.logged { // once per sync: the request count a person sizing the pace needs
		snap.logged = true
		s.logger.Info("organization members read", "members", len(out), "pages", snap.last,
			"requests_this_sync", snap.set.org.Pacer().Requests()-snap.base, "rate_limited_total", snap.set.org.Pacer().RateLimited(),
			"hand_backs_this_sync", s.org.handBacks.Load()-snap.backs)
	}
	return out, nil
}

// paced answers Unavailable with a RateLimitDescription when the key's next
// request slot is more than handBack away. Its status is OK with nothing
// remaining: the plugin is pacing itself, Cursor did not refuse anything
// (the host does not count these as rate-limited answers).
func (s *Server) paced(c *cursororg.Client) error {
	next := c.Pacer().Next()
	if time.Until(next) <= handBack {
		return nil
	}
	s.org.handBacks.Add(1)
	s.logger.Info("organization requests paced: handing back to baton-sdk to call again later", "at", next.UTC().Format(time.RFC3339),
		"limit_per_minute", cursororg.RateLimit)
	st := status.Newf(codes.Unavailable,
		"baton-cursor-plugin: pacing under Cursor's %d organization requests a minute; call again at %s", cursororg.RateLimit, next.UTC().Format(time.RFC3339))
	rl := v2.RateLimitDescription_builder{Status: v2.RateLimitDescription_STATUS_OK, ResetAt: timestamppb.New(next)}.Build()
	if withRL, err := st.WithDetails(rl); err == nil {
		st = withRL
	}
	return st.Err()
}

// ListOrgMembers returns one page of the organization's members.
func (s *Server) ListOrgMembers(ctx context.Context, req *pluginv1.ListOrgMembersRequest) (*pluginv1.ListOrgMembersResponse, error) {
	set, err := s.orgSettings()
	if err != nil {
		return nil, err
	}
	snap := s.orgSnapshot(set, req.GetSyncId())
	onTeam, err := s.onTeam(ctx, set, req.GetSyncId())
	if err != nil {
		return nil, err
	}
	if req.GetTeamId() == "" && req.GetOrganizationRole() == "" {
		// One Cursor page a call: the token is Cursor's own, so a resumed
		// sync reads on from that page even in a new plugin process.
		n, total, err := cursororg.MembersTokenPage(req.GetPageToken())
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, "baton-cursor-plugin: "+err.Error())
		}
		if err := s.orgPage(ctx, snap, n, total); err != nil {
			return nil, err
		}
		s.org.mu.Lock()
		page, last, total := snap.pages[n], snap.last, snap.total
		s.org.mu.Unlock()
		resp := &pluginv1.ListOrgMembersResponse{TotalCount: uint32(max(total, 0))}
		for i := range page {
			if page[i].Key() != "" {
				resp.Members = append(resp.Members, orgMember(&page[i], onTeam))
			}
		}
		if last != n {
			resp.NextPageToken = cursororg.MembersToken(n+1, total)
		}
		return resp, nil
	}
	all, err := s.orgAll(ctx, snap)
	if err != nil {
		return nil, err
	}
	var match []*cursororg.Member
	for i := range all {
		m := &all[i]
		if r := req.GetOrganizationRole(); r != "" && m.OrganizationRole != r {
			continue
		}
		if t := req.GetTeamId(); t != "" && !slices.ContainsFunc(m.Teams, func(tr cursororg.TeamRole) bool { return string(tr.TeamID) == t }) {
			continue
		}
		match = append(match, m)
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		o, ok := strings.CutPrefix(tok, "o.")
		n, err := strconv.Atoi(o)
		if !ok || err != nil || n < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "baton-cursor-plugin: page token %q is not one this plugin made", tok)
		}
		start = min(n, len(match))
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, status.Errorf(codes.InvalidArgument, "baton-cursor-plugin: page_size must not be negative (got %d)", size)
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	end := min(start+size, len(match))
	resp := &pluginv1.ListOrgMembersResponse{TotalCount: uint32(len(all))}
	for _, m := range match[start:end] {
		resp.Members = append(resp.Members, orgMember(m, onTeam))
	}
	if end < len(match) {
		resp.NextPageToken = "o." + strconv.Itoa(end)
	}
	return resp, nil
}

// onTeam says whether a key is on the team key's roster (the sync's
// snapshot); always false without a team key.
func (s *Server) onTeam(ctx context.Context, set *settings, syncID string) (func(string) bool, error) {
	if teamKeyOff(set) {
		return func(string) bool { return false }, nil
	}
	roster, err := s.rosterFor(ctx, syncID)
	if err != nil {
		return nil, err
	}
	return func(k string) bool { return roster.find(k) != nil }, nil
}

func orgMember(m *cursororg.Member, onTeam func(string) bool) *pluginv1.OrgMember {
	out := &pluginv1.OrgMember{
		Key: m.Key(), Email: m.Email, Name: m.Name, CursorId: string(m.UserID),
		OrganizationRole: m.OrganizationRole, OnTeam: onTeam(m.Key()),
	}
	for _, t := range m.Teams {
		out.Teams = append(out.Teams, &pluginv1.OrgTeamRole{TeamId: string(t.TeamID), Role: t.Role})
	}
	return out
}

// ListOrgTeams returns the organization's teams, known from their members'
// rows (no route lists teams), and the organization roles those rows hold.
func (s *Server) ListOrgTeams(ctx context.Context, req *pluginv1.ListOrgTeamsRequest) (*pluginv1.ListOrgTeamsResponse, error) {
	set, err := s.orgSettings()
	if err != nil {
		return nil, err
	}
	all, err := s.orgAll(ctx, s.orgSnapshot(set, req.GetSyncId()))
	if err != nil {
		return nil, err
	}
	teams := map[string]*pluginv1.OrgTeam{}
	resp := &pluginv1.ListOrgTeamsResponse{OrganizationRoles: []string{"admin", "member"}}
	for _, m := range all {
		if r := m.OrganizationRole; r != "" && !slices.Contains(resp.OrganizationRoles, r) {
			resp.OrganizationRoles = append(resp.OrganizationRoles, r)
			slices.Sort(resp.OrganizationRoles[2:])
		}
		for _, tr := range m.Teams {
			t := teams[string(tr.TeamID)]
			if t == nil {
				t = &pluginv1.OrgTeam{Id: string(tr.TeamID), Roles: []string{"owner", "member", "free-owner"}}
				teams[t.Id] = t
			}
			t.Members++
			if tr.Role != "" && !slices.Contains(t.Roles, tr.Role) {
				t.Roles = append(t.Roles, tr.Role)
				slices.Sort(t.Roles[3:])
			}
		}
	}
	for _, t := range teams {
		resp.Teams = append(resp.Teams, t)
	}
	slices.SortFunc(resp.Teams, func(a, b *pluginv1.OrgTeam) int {
		return cmp.Or(cmp.Compare(len(a.Id), len(b.Id)), cmp.Compare(a.Id, b.Id)) // numeric ids in number order
	})
	return resp, nil
}

// teamGroups is the team Admin API client the team-key group layers need.
func teamGroups(set *settings, kind pluginv1.GroupKind) (*cursorapi.Client, error) {
	c, ok := set.admin.(*cursorapi.Client)
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition,
			"baton-cursor-plugin: %s are read with the team Admin API key: set cursor-api-key (BATON_CURSOR_API_KEY)", kindName(kind))
	}
	return c, nil
}

func kindName(k pluginv1.GroupKind) string {
	switch k {
	case pluginv1.GroupKind_GROUP_KIND_TEAM_DIRECTORY:
		return "team directory groups"
	case pluginv1.GroupKind_GROUP_KIND_BILLING:
		return "billing groups"
	}
	return "organization groups"
}

// ListOrgGroups returns one page of groups of one kind.
func (s *Server) ListOrgGroups(ctx context.Context, req *pluginv1.ListOrgGroupsRequest) (*pluginv1.ListOrgGroupsResponse, error) {
	set, err := s.orgSettings()
	if err != nil {
		return nil, err
	}
	kind := req.GetKind()
	resp := &pluginv1.ListOrgGroupsResponse{}
	switch kind {
	case pluginv1.GroupKind_GROUP_KIND_ORGANIZATION:
		if err := s.paced(set.org); err != nil {
			return nil, err
		}
		p, err := set.org.GroupsPage(ctx, req.GetPageToken())
		if err != nil {
			return nil, err
		}
		for _, g := range p.Items {
			resp.Groups = append(resp.Groups, &pluginv1.OrgGroup{
				Key: g.Key(), CursorId: g.ID, Name: g.Name, Kind: kind, ScimSynced: g.SCIMSynced(),
				DirectoryGroupId: deref(g.DirectoryGroupID), MemberCount: uint32(max(g.MemberCount, 0)),
				MonthlySpendingLimitDollars: g.MonthlySpendingLimitDollars,
			})
		}
		resp.NextPageToken = p.Next
	case pluginv1.GroupKind_GROUP_KIND_TEAM_DIRECTORY:
		c, err := teamGroups(set, kind)
		if err != nil {
			return nil, err
		}
		gs, err := c.DirectoryGroups(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			resp.Groups = append(resp.Groups, &pluginv1.OrgGroup{
				Key: g.ID, CursorId: g.ID, Name: g.Name, Kind: kind, ScimSynced: g.SCIMSynced(),
				DirectoryGroupId: deref(g.DirectoryGroupID), MemberCount: uint32(max(g.MemberCount, 0)),
				MonthlySpendingLimitDollars: g.MonthlySpendingLimitDollars,
			})
		}
	case pluginv1.GroupKind_GROUP_KIND_BILLING:
		c, err := teamGroups(set, kind)
		if err != nil {
			return nil, err
		}
		gs, _, err := c.BillingGroups(ctx) // the unassigned group is the absence of one: no resource
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			resp.Groups = append(resp.Groups, &pluginv1.OrgGroup{
				Key: g.ID, CursorId: g.ID, Name: g.Name, Kind: kind, ScimSynced: g.SCIMSynced(),
				DirectoryGroupId: deref(g.DirectoryGroupID), MemberCount: uint32(max(g.MemberCount, 0)),
			})
		}
	default:
		return nil, status.Errorf(codes.InvalidArgument, "baton-cursor-plugin: group kind %s is not one of organization, team directory or billing", kind)
	}
	return resp, nil
}

// ListOrgGroupMembers returns one page of a group's members.
func (s *Server) ListOrgGroupMembers(ctx context.Context, req *pluginv1.ListOrgGroupMembersRequest) (*pluginv1.ListOrgGroupMembersResponse, error) {
	set, err := s.orgSettings()
	if err != nil {
		return nil, err
	}
	id, kind := req.GetGroupId(), req.GetKind()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "baton-cursor-plugin: group_id is required")
	}
	resp := &pluginv1.ListOrgGroupMembersResponse{}
	var emails []string
	switch kind {
	case pluginv1.GroupKind_GROUP_KIND_ORGANIZATION:
		if err := s.paced(set.org); err != nil {
			return nil, err
		}
		p, err := set.org.GroupMembersPage(ctx, id, req.GetPageToken())
		if err != nil {
			return nil, err
		}
		for _, m := range p.Items {
			emails = append(emails, m.Email)
		}
		resp.NextPageToken = p.Next
	case pluginv1.GroupKind_GROUP_KIND_TEAM_DIRECTORY, pluginv1.GroupKind_GROUP_KIND_BILLING:
		// Read whole (Cursor's pages of these routes are not ours to hand
		// out), once per listing: the token names the read it pages through.
		all, snap, start, err := s.groupMembers(ctx, set, kind, id, req.GetPageToken())
		if err != nil {
			return nil, err
		}
		end := min(start+groupPage, len(all))
		if end < len(all) {
			resp.NextPageToken = groupToken(end, snap)
		}
		emails = all[start:end]
	default:
		return nil, status.Errorf(codes.InvalidArgument, "baton-cursor-plugin: group kind %s is not one of organization, team directory or billing", kind)
	}
	for _, e := range emails {
		if e != "" {
			resp.Keys = append(resp.Keys, strings.ToLower(e))
		}
	}
	return resp, nil
}

// groupPage is how many members of a team directory or billing group one
// page holds: a grant each, well inside the host's 2 MiB page.
const groupPage = 1000

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
