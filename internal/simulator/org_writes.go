package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
)

type wireSyncEntry struct {
	UserID            json.RawMessage `json:"userId"`
	TeamIDs           *[]int64        `json:"teamIds"`
	DestinationTeamID *int64          `json:"destinationTeamId"`
}

type wireSyncResult struct {
	UserID            json.RawMessage `json:"userId"`
	TeamIDs           []int64         `json:"teamIds,omitempty"`
	DestinationTeamID *int64          `json:"destinationTeamId,omitempty"`
	Status            string          `json:"status"`
	ErrorMessage      string          `json:"errorMessage,omitempty"`
}

// serveSync is POST /organizations/team-memberships/sync (§6.1): each entry
// replaces a user's whole team set (teamIds) or moves them to one team
// (destinationTeamId). A change touching the SCIM-managed team is refused
// per row, as the runbook reports (§4.6).
func (o *org) serveSync(w http.ResponseWriter, r *http.Request) {
	var body struct {
		OrganizationID string          `json:"organizationId"`
		Users          []wireSyncEntry `json:"users"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		orgError(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	switch {
	case body.OrganizationID == "":
		orgError(w, http.StatusBadRequest, "organizationId is required")
		return
	case body.OrganizationID != OrgID:
		orgError(w, http.StatusForbidden, "Not authorized")
		return
	case len(body.Users) == 0:
		orgError(w, http.StatusBadRequest, "users must be a non-empty array")
		return
	case len(body.Users) > 500:
		orgError(w, http.StatusBadRequest, "users must not contain more than 500 moves")
		return
	}
	ans := struct {
		Results      []wireSyncResult `json:"results"`
		SuccessCount int              `json:"successCount"`
		ErrorCount   int              `json:"errorCount"`
	}{Results: []wireSyncResult{}}
	for _, e := range body.Users {
		res := wireSyncResult{UserID: e.UserID, DestinationTeamID: e.DestinationTeamID, Status: "success"}
		if e.TeamIDs != nil {
			res.TeamIDs = *e.TeamIDs
		}
		if msg := o.syncOne(e); msg != "" {
			res.Status, res.ErrorMessage = "error", msg
			ans.ErrorCount++
		} else {
			ans.SuccessCount++
		}
		ans.Results = append(ans.Results, res)
	}
	writeValue(w, ans)
}

// syncOne applies one entry and returns its row error, or "".
func (o *org) syncOne(e wireSyncEntry) string {
	if (e.TeamIDs == nil) == (e.DestinationTeamID == nil) {
		return "Exactly one of teamIds or destinationTeamId must be provided"
	}
	i, msg := o.person(e.UserID)
	if msg != "" {
		return msg
	}
	var want []int64
	if e.TeamIDs != nil {
		want = *e.TeamIDs
	} else {
		want = []int64{*e.DestinationTeamID}
	}
	if len(want) == 0 || len(want) > 100 {
		return "teamIds must hold 1 to 100 teams" // the empty set's meaning is undocumented: refused here
	}
	for _, id := range want {
		if !slices.Contains(o.teams, id) {
			return "Team is not linked to this organization"
		}
	}
	p := &o.people[i]
	had := o.onTeam(i, o.scimTeam)
	if had != slices.Contains(want, o.scimTeam) {
		return OrgSCIMMessage
	}
	var next []orgTeamRole
	for _, id := range want {
		role := "member" // the default for a team joined through the sync (undocumented)
		if j := slices.IndexFunc(p.teams, func(t orgTeamRole) bool { return t.TeamID == id }); j >= 0 {
			role = p.teams[j].Role
		}
		next = append(next, orgTeamRole{id, role})
	}
	p.teams = next
	o.recordLocked(OrgEventTeams, map[string]any{"email": p.email, "teamIds": want})
	return ""
}

// person finds a user by a numeric userId or a "user_…" string.
func (o *org) person(raw json.RawMessage) (int, string) {
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		if i, ok := o.byUserID[n]; ok {
			return i, ""
		}
		return 0, "User not found"
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		return 0, "Invalid userId"
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if i, ok := o.byUserID[n]; ok {
			return i, ""
		}
	}
	if i, ok := o.byPublic[s]; ok {
		return i, ""
	}
	return 0, "User not found"
}

// teamError is the team routes' envelope (§3.2).
func teamError(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(map[string]string{"error": http.StatusText(status), "message": message})
	writeJSON(w, status, body)
}

// serveTeamGroups serves the team's directory groups (§2.12) and billing
// groups (§2.10) for team OrgTeamBase; parts follow "/teams/".
func (o *org) serveTeamGroups(w http.ResponseWriter, r *http.Request, parts []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case parts[0] == "directory-groups" && len(parts) == 1 && r.Method == http.MethodGet:
		from, to, p, ok := orgPage(w, r, len(o.dirGroups))
		if ok {
			out := []wireOrgGroup{}
			for _, g := range o.dirGroups[from:to] {
				out = append(out, g.wire())
			}
			writeValue(w, map[string]any{"groups": out, "pagination": p})
		}
	case parts[0] == "directory-groups":
		i := slices.IndexFunc(o.dirGroups, func(g *orgGroup) bool { return g.ID == parts[1] })
		if i < 0 {
			teamError(w, http.StatusNotFound, "Resource not found")
			return
		}
		if len(parts) == 4 && !o.allOnTeam(w, r) {
			return
		}
		o.serveGroupMembers(w, r, o.dirGroups[i], parts[2:], teamError)
	case parts[0] == "groups" && len(parts) == 1 && r.Method == http.MethodGet:
		var out []any
		for _, g := range o.billing {
			out = append(out, o.billingWire(g))
		}
		unassigned := &orgGroup{ID: "group_unassigned", Name: "Unassigned", members: map[int]bool{}}
		for i := range o.people {
			if o.onTeam(i, o.teams[0]) && o.billingOf(i) == nil {
				unassigned.members[i] = true
			}
		}
		writeValue(w, map[string]any{"groups": out, "unassignedGroup": o.billingWire(unassigned),
			"billingCycle": map[string]string{"cycleStart": "2026-12-01T00:00:00.000Z", "cycleEnd": "2027-01-01T00:00:00.000Z"}})
	case parts[0] == "groups" && len(parts) == 3 && parts[2] == "members" && (r.Method == http.MethodPost || r.Method == http.MethodDelete):
		i := slices.IndexFunc(o.billing, func(g *orgGroup) bool { return g.ID == parts[1] })
		if i < 0 {
			teamError(w, http.StatusNotFound, "Resource not found")
			return
		}
		o.serveBillingMembers(w, r, o.billing[i])
	default:
		teamError(w, http.StatusNotFound, "Resource not found")
	}
}

// allOnTeam peeks at a bulk body's ids: directory groups take team members only.
func (o *org) allOnTeam(w http.ResponseWriter, r *http.Request) bool {
	var body struct {
		UserIDs []string `json:"userIds"`
	}
	raw, _ := readAll(r)
	_ = json.Unmarshal(raw, &body)
	for _, id := range body.UserIDs {
		if i, ok := o.byID(id); ok && !o.onTeam(i, o.teams[0]) {
			teamError(w, http.StatusBadRequest, "Some users are not in the team")
			return false
		}
	}
	r.Body = newBody(raw)
	return true
}

func (o *org) billingOf(i int) *orgGroup {
	for _, g := range o.billing {
		if g.members[i] {
			return g
		}
	}
	return nil
}

// serveBillingMembers: POST adds (team members in no other billing group
// only, §2.10), DELETE moves back to Unassigned; SCIM-linked groups refuse.
func (o *org) serveBillingMembers(w http.ResponseWriter, r *http.Request, g *orgGroup) {
	if g.DirectoryGroupID != "" {
		teamError(w, http.StatusForbidden, "Groups synced from SCIM cannot be changed through this API")
		return
	}
	people, ok := o.userIDs(w, r, 0, teamError)
	if !ok {
		return
	}
	add := r.Method == http.MethodPost
	for _, i := range people {
		if !o.onTeam(i, o.teams[0]) {
			teamError(w, http.StatusBadRequest, "Some users are not in the team")
			return
		}
		if other := o.billingOf(i); add && other != nil && other != g {
			teamError(w, http.StatusBadRequest, "Some users are already in another billing group")
			return
		}
	}
	for _, i := range people {
		if add {
			g.members[i] = true
		} else {
			delete(g.members, i)
		}
	}
	writeValue(w, map[string]any{"group": o.billingWire(g)})
}

func (o *org) billingWire(g *orgGroup) map[string]any {
	var dir *string
	if g.DirectoryGroupID != "" {
		dir = &g.DirectoryGroupID
	}
	members := []map[string]any{}
	for _, i := range g.sorted() {
		p := &o.people[i]
		members = append(members, map[string]any{"userId": p.publicID, "name": p.name, "email": p.email,
			"joinedAt": "2026-12-01T00:00:00.000Z", "leftAt": nil, "spendCents": 0})
	}
	return map[string]any{"id": g.ID, "name": g.Name, "type": "BILLING", "directoryGroupId": dir, "memberCount": len(members),
		"createdAt": "2026-09-01T00:00:00.000Z", "updatedAt": "2026-09-01T00:00:00.000Z", "spendCents": 0,
		"currentMembers": members, "formerMembers": []any{}, "dailySpend": []any{}}
}

func readAll(r *http.Request) ([]byte, error) { return io.ReadAll(io.LimitReader(r.Body, 1<<20)) }

func newBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
