package simulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The organization audit log, GET /organizations/audit-logs (docs/cursor-api.md
// §6.1.2). Its parameters and shape are documented only as mirroring
// /teams/audit-logs (§2.4) plus a teamId filter, so this serves the team
// route's parameters (startTime/endTime as epoch ms or ISO, eventTypes,
// users, page/pageSize up to 500) and snake_case events, each with the
// team's teamId where it has one, and the Organization API's newer
// `pagination` object and {"code":"error",…} envelope. It holds the team
// key's own events again (the same event_id, teamId 4242 as the team route's
// params say) and the organization's writes: group membership and
// team-membership changes.

// orgAuditTeamID is the team id the team route's params carry (audit_logs.go).
const orgAuditTeamID = 4242

// Event types the simulated organization records for its writes; Cursor does
// not document the organization log's types, so these are invented.
const (
	OrgEventGroupAdd    = "add_user_to_group"
	OrgEventGroupRemove = "remove_user_from_group"
	OrgEventTeams       = "update_user_teams"
)

// recordLocked appends one event of an organization write; o.mu is held.
func (o *org) recordLocked(kind string, data map[string]any) {
	o.events = append(o.events, wireAuditEvent{
		EventID: fmt.Sprintf("evt_org%06d", len(o.events)+1), Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		IPAddress: "203.0.113.17", UserEmail: "it-admin@example.com", EventType: kind, EventData: data,
	})
}

// recordGroupLocked records a group membership change of person i.
func (o *org) recordGroupLocked(g *orgGroup, i int, add bool) {
	kind := OrgEventGroupRemove
	if add {
		kind = OrgEventGroupAdd
	}
	o.recordLocked(kind, map[string]any{"email": o.people[i].email, "groupId": g.ID, "groupPublicId": g.PublicID, "groupName": g.Name})
}

type orgAuditEvent struct {
	wireAuditEvent
	TeamID int64 `json:"teamId,omitempty"`
}

// serveOrgAuditLogs answers GET /organizations/audit-logs; the caller has
// checked the key and the limit, and holds no lock.
func (t *Tenant) serveOrgAuditLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now().UTC()
	start, end := now.Add(-7*24*time.Hour), now
	for name, at := range map[string]*time.Time{"startTime": &start, "endTime": &end} {
		if v := q.Get(name); v != "" {
			ts, ok := parseAuditTime(v, now)
			if !ok {
				orgError(w, http.StatusBadRequest, "Invalid "+name)
				return
			}
			*at = ts
		}
	}
	switch {
	case end.Before(start):
		orgError(w, http.StatusBadRequest, "startTime must be before endTime")
		return
	case end.Sub(start) > maxWindow:
		orgError(w, http.StatusBadRequest, "Time range cannot exceed 30 days")
		return
	}
	page, size, ok := pageParams(q, 100, maxAuditPageSize)
	if !ok {
		orgError(w, http.StatusBadRequest, "page must be >= 1 and pageSize between 1 and 500")
		return
	}
	types, users := splitList(q.Get("eventTypes")), splitList(strings.ToLower(q.Get("users")))
	team := q.Get("teamId")

	var all []orgAuditEvent
	for _, e := range t.AuditEvents() { // the team's own, as its route serves them
		we := wireAuditEvent{EventID: e.ID, Timestamp: e.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), UserEmail: e.UserEmail, EventType: e.Type, EventData: map[string]any{}}
		if e.Email != "" {
			we.EventData["email"] = e.Email
		}
		all = append(all, orgAuditEvent{we, orgAuditTeamID})
	}
	o := t.org
	o.mu.Lock()
	for _, e := range o.events {
		all = append(all, orgAuditEvent{wireAuditEvent: e})
	}
	o.mu.Unlock()
	matched := []orgAuditEvent{}
	for _, e := range all {
		at, _ := time.Parse(time.RFC3339, e.Timestamp)
		actor := strings.ToLower(e.UserEmail)
		switch {
		case at.Before(start) || at.After(end):
		case len(types) > 0 && !slices.Contains(types, e.EventType):
		case len(users) > 0 && !slices.Contains(users, actor):
		case team != "" && team != strconv.FormatInt(e.TeamID, 10):
		default:
			matched = append(matched, e)
		}
	}
	slices.SortStableFunc(matched, func(a, b orgAuditEvent) int { return strings.Compare(b.Timestamp, a.Timestamp) }) // newest first
	n := len(matched)
	pages := (n + size - 1) / size
	from, to := min((page-1)*size, n), min(page*size, n)
	writeValue(w, map[string]any{"events": matched[from:to], "pagination": wirePagination{page, size, n, pages, page < pages, page > 1}})
}
