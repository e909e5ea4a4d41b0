package simulator

import (
	"crypto/subtle"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Organization routes answer errors in {"code":"error","message":…}
// (docs/cursor-api.md §3.2, §6.1); 404 for the organization is {"error":…}.
var (
	bodyOrgUnauthorized = []byte(`{"code":"error","message":"Invalid Organization API Key"}`)
	bodyOrgNotFound     = []byte(`{"error":"Organization not found"}`)
)

func orgError(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(map[string]string{"code": "error", "message": message})
	writeJSON(w, status, body)
}

func writeValue(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, bodyInternal)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

type wirePagination struct {
	Page            int  `json:"page"`
	PageSize        int  `json:"pageSize"`
	TotalCount      int  `json:"totalCount"`
	TotalPages      int  `json:"totalPages"`
	HasNextPage     bool `json:"hasNextPage"`
	HasPreviousPage bool `json:"hasPreviousPage"`
}

// orgPage cuts rows [page] of size out of n, clamping pageSize at 200 as
// /organizations/members does (§6.1; the other lists' caps are not
// documented, the same is assumed).
func orgPage(w http.ResponseWriter, r *http.Request, n int) (from, to int, p wirePagination, ok bool) {
	page, size, ok := pageParams(r.URL.Query(), 100, math.MaxInt)
	if !ok {
		orgError(w, http.StatusBadRequest, "page and pageSize must be positive integers")
		return 0, 0, p, false
	}
	size = min(size, 200)
	pages := (n + size - 1) / size
	from, to = min((page-1)*size, n), min(page*size, n)
	return from, to, wirePagination{page, size, n, pages, page < pages, page > 1}, true
}

// isOrgPath: the routes the organization serves, with either key.
func isOrgPath(path string) bool {
	return strings.HasPrefix(path, "/organizations/") ||
		path == "/teams/directory-groups" || strings.HasPrefix(path, "/teams/directory-groups/") ||
		path == "/teams/groups" || strings.HasPrefix(path, "/teams/groups/")
}

func (t *Tenant) serveOrg(w http.ResponseWriter, r *http.Request) {
	o, path := t.org, r.URL.Path
	if o == nil {
		writeJSON(w, http.StatusNotFound, bodyNotFound)
		return
	}
	if rest, ok := strings.CutPrefix(path, "/teams/"); ok { // team routes: the team key and the team's limit
		if t.rateLimited(w) {
			return
		}
		if !t.authorized(r) {
			writeJSON(w, http.StatusUnauthorized, bodyUnauthorized)
			return
		}
		o.serveTeamGroups(w, r, strings.Split(rest, "/"))
		return
	}
	if o.rateLimited(w, r) {
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || pass != "" || subtle.ConstantTimeCompare([]byte(user), []byte(o.key)) != 1 {
		writeJSON(w, http.StatusUnauthorized, bodyOrgUnauthorized) // the team key too (§1.1)
		return
	}
	if r.Method == http.MethodGet && path == "/organizations/audit-logs" {
		t.serveOrgAuditLogs(w, r) // org_audit.go; it takes the locks it needs
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, "/organizations/"), "/")
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && path == "/organizations/members":
		o.serveMembers(w, r)
	case r.Method == http.MethodPost && path == "/organizations/team-memberships/sync":
		o.serveSync(w, r)
	case parts[0] == "groups":
		o.serveGroups(w, r, parts[1:])
	default:
		writeJSON(w, http.StatusNotFound, bodyOrgNotFound)
	}
}

// rateLimited counts requests per presented key in fixed windows and
// answers 429 with Retry-After (the seconds left in the window) over the limit.
func (o *org) rateLimited(w http.ResponseWriter, r *http.Request) bool {
	if o.limit < 0 {
		return false
	}
	user, _, _ := r.BasicAuth()
	now := time.Now()
	start := now.Truncate(o.window)
	o.mu.Lock()
	win := o.windows[user]
	if !win.start.Equal(start) {
		win = orgWindow{start: start}
	}
	win.used++
	o.windows[user] = win
	over := win.used > o.limit
	if over {
		o.rateLimits++
	}
	o.mu.Unlock()
	if !over {
		return false
	}
	setRetryAfter(w, strconv.Itoa(max(1, int(math.Ceil(start.Add(o.window).Sub(now).Seconds())))))
	writeJSON(w, http.StatusTooManyRequests, bodyTooManyRequests)
	return true
}

type wireOrgMember struct {
	UserID           int64         `json:"userId"`
	Email            string        `json:"email"`
	Name             string        `json:"name"`
	OrganizationRole string        `json:"organizationRole"`
	Teams            []orgTeamRole `json:"teams"`
}

func (o *org) serveMembers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	emails, ids := splitList(q.Get("email")), splitList(q.Get("userId"))
	if len(emails) > 100 || len(ids) > 100 {
		orgError(w, http.StatusBadRequest, "email and userId each take at most 100 values")
		return
	}
	search, role := strings.ToLower(q.Get("search")), q.Get("organizationRole")
	team, _ := strconv.ParseInt(q.Get("teamId"), 10, 64)
	var rows []int
	for i, p := range o.people {
		switch {
		case len(emails) > 0 && !slices.ContainsFunc(emails, func(e string) bool { return strings.EqualFold(e, p.email) }),
			len(ids) > 0 && !slices.Contains(ids, strconv.FormatInt(p.userID, 10)) && !slices.Contains(ids, p.publicID),
			search != "" && !strings.Contains(strings.ToLower(p.email+" "+p.name), search),
			role != "" && p.orgRole != role,
			team != 0 && !o.onTeam(i, team):
			continue
		}
		rows = append(rows, i)
	}
	from, to, page, ok := orgPage(w, r, len(rows))
	if !ok {
		return
	}
	out := make([]wireOrgMember, 0, to-from)
	for _, i := range rows[from:to] {
		p := &o.people[i]
		out = append(out, wireOrgMember{p.userID, p.email, p.name, p.orgRole, append([]orgTeamRole{}, p.teams...)})
	}
	writeValue(w, map[string]any{"members": out, "pagination": page})
}

type wireOrgGroup struct {
	ID               string  `json:"id"`
	PublicID         string  `json:"publicId,omitempty"`
	Name             string  `json:"name"`
	MemberCount      int     `json:"memberCount"`
	DirectoryGroupID *string `json:"directoryGroupId"`
	CreatedAt        string  `json:"createdAt"`
	UpdatedAt        string  `json:"updatedAt"`
}

func (g *orgGroup) wire() wireOrgGroup {
	var dir *string
	if g.DirectoryGroupID != "" {
		dir = &g.DirectoryGroupID
	}
	return wireOrgGroup{g.ID, g.PublicID, g.Name, len(g.members), dir, "2026-09-01T00:00:00.000Z", "2026-09-14T00:00:00.000Z"}
}

type wireGroupMember struct {
	UserID   string `json:"userId"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	JoinedAt string `json:"joinedAt"`
}

func (o *org) serveGroups(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) == 0 || parts[0] == "" { // GET /organizations/groups[?name=]
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
			return
		}
		gs := o.groups
		if name, ok := r.URL.Query()["name"]; ok { // exact and case-sensitive (§6.1.1)
			gs = slices.DeleteFunc(slices.Clone(gs), func(g *orgGroup) bool { return g.Name != name[0] })
		}
		from, to, p, ok := orgPage(w, r, len(gs))
		if ok {
			out := []wireOrgGroup{}
			for _, g := range gs[from:to] {
				out = append(out, g.wire())
			}
			writeValue(w, map[string]any{"groups": out, "pagination": p})
		}
		return
	}
	i := slices.IndexFunc(o.groups, func(g *orgGroup) bool { return g.ID == parts[0] || g.PublicID == parts[0] })
	if i < 0 {
		orgError(w, http.StatusNotFound, "Group not found")
		return
	}
	o.serveGroupMembers(w, r, o.groups[i], parts[1:], orgError)
}

// serveGroupMembers serves GET …/:id (no rest), GET …/:id/members and
// POST …/:id/members/bulk-add|bulk-remove for an org or directory group.
func (o *org) serveGroupMembers(w http.ResponseWriter, r *http.Request, g *orgGroup, rest []string, fail func(http.ResponseWriter, int, string)) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		writeValue(w, map[string]any{"group": g.wire()})
	case len(rest) == 1 && rest[0] == "members" && r.Method == http.MethodGet:
		ms := g.sorted()
		from, to, p, ok := orgPage(w, r, len(ms))
		if ok {
			out := []wireGroupMember{}
			for _, i := range ms[from:to] {
				out = append(out, wireGroupMember{o.people[i].publicID, o.people[i].name, o.people[i].email, "2026-09-01T00:00:00.000Z"})
			}
			writeValue(w, map[string]any{"members": out, "pagination": p})
		}
	case len(rest) == 2 && rest[0] == "members" && (rest[1] == "bulk-add" || rest[1] == "bulk-remove") && r.Method == http.MethodPost:
		if g.DirectoryGroupID != "" {
			fail(w, http.StatusForbidden, OrgSCIMMessage)
			return
		}
		people, ok := o.userIDs(w, r, 100, fail)
		if !ok {
			return
		}
		n := 0
		for _, i := range people {
			if g.members[i] != (rest[1] == "bulk-add") {
				n++
				if slices.Contains(o.groups, g) { // organization groups only: directory groups are the team's
					o.recordGroupLocked(g, i, rest[1] == "bulk-add")
				}
				if rest[1] == "bulk-add" {
					g.members[i] = true
				} else {
					delete(g.members, i)
				}
			}
		}
		field := map[string]string{"bulk-add": "addedCount", "bulk-remove": "removedCount"}[rest[1]]
		writeValue(w, map[string]int{field: n})
	default:
		fail(w, http.StatusNotFound, "Not found")
	}
}

// userIDs reads {"userIds":[…]} (at most max, each a known user id).
func (o *org) userIDs(w http.ResponseWriter, r *http.Request, max int, fail func(http.ResponseWriter, int, string)) ([]int, bool) {
	var body struct {
		UserIDs []string `json:"userIds"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.UserIDs) == 0 {
		fail(w, http.StatusBadRequest, "userIds must be a non-empty array")
		return nil, false
	}
	if max > 0 && len(body.UserIDs) > max {
		fail(w, http.StatusBadRequest, "userIds must not contain more than "+strconv.Itoa(max)+" ids")
		return nil, false
	}
	out := make([]int, 0, len(body.UserIDs))
	for _, id := range body.UserIDs {
		i, ok := o.byID(id)
		if !ok {
			fail(w, http.StatusBadRequest, "User not found: "+id)
			return nil, false
		}
		out = append(out, i)
	}
	return out, true
}

// byID finds a person by a "user_…" id or by the number /organizations/members
// gives as userId: which form the bulk routes take is not documented
// (docs/cursor-api.md §9 item 1), so both are accepted, as the team sync does.
func (o *org) byID(id string) (int, bool) {
	if i, ok := o.byPublic[id]; ok {
		return i, true
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, false
	}
	i, ok := o.byUserID[n]
	return i, ok
}
