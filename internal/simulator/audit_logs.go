package simulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// --- GET /teams/audit-logs ---

type wireAuditEvent struct {
	EventID   string         `json:"event_id"`
	Timestamp string         `json:"timestamp"`
	IPAddress string         `json:"ip_address"`
	UserEmail string         `json:"user_email,omitempty"`
	EventType string         `json:"event_type"`
	EventData map[string]any `json:"event_data"`
}

type auditPagination struct {
	Page            int  `json:"page"`
	PageSize        int  `json:"pageSize"`
	TotalCount      int  `json:"totalCount"`
	TotalPages      int  `json:"totalPages"`
	HasNextPage     bool `json:"hasNextPage"`
	HasPreviousPage bool `json:"hasPreviousPage"`
}

func (t *Tenant) serveAuditLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now().UTC()
	start, ok := parseAuditTime(q.Get("startTime"), now)
	if q.Get("startTime") == "" {
		start, ok = now.Add(-7*24*time.Hour), true
	}
	if !ok {
		badRequest(w, "Invalid startTime")
		return
	}
	end, ok := parseAuditTime(q.Get("endTime"), now)
	if q.Get("endTime") == "" {
		end, ok = now, true
	}
	switch {
	case !ok:
		badRequest(w, "Invalid endTime")
		return
	case end.Before(start):
		badRequest(w, "startTime must be before endTime")
		return
	case end.Sub(start) > maxWindow:
		badRequest(w, "Time range cannot exceed 30 days")
		return
	}
	page, pageSize, ok := pageParams(q, 100, maxAuditPageSize)
	if !ok {
		badRequest(w, "page must be >= 1 and pageSize between 1 and 500")
		return
	}
	types := splitList(q.Get("eventTypes"))
	users := splitList(strings.ToLower(q.Get("users")))
	if len(users) > pageSize {
		badRequest(w, "Too many users: at most pageSize")
		return
	}

	// The history never changes once built; the work runs outside the lock
	// on a copy of the members, so concurrent requests overlap.
	t.mu.Lock()
	h := t.historyLocked()
	members := slices.Clone(t.members)
	t.mu.Unlock()
	// The users filter as a set of roster rows: a sync asks for up to 500
	// users a request, and this tenant shares the benchmarks' machine.
	var userRows map[int]bool
	if len(users) > 0 {
		want := make(map[string]bool, len(users))
		for _, u := range users {
			want[u] = true
		}
		userRows = make(map[int]bool, len(users))
		for i := range members {
			if want[strings.ToLower(members[i].Email)] {
				userRows[i] = true
			}
		}
	}
	var matched []int // indexes into h.events
	for i, e := range h.events {
		if e.at.Before(start) || e.at.After(end) || (len(types) > 0 && !slices.Contains(types, e.kind)) {
			continue
		}
		if userRows != nil && (e.actor < 0 || members[e.actor].Email == "" || !userRows[e.actor]) {
			continue
		}
		matched = append(matched, i)
	}

	total := len(matched)
	lo, hi := min((page-1)*pageSize, total), min(page*pageSize, total)
	pages := (total + pageSize - 1) / pageSize
	events := make([]wireAuditEvent, 0, hi-lo)
	for _, i := range matched[lo:hi] {
		e, actor := h.events[i], ""
		if e.actor >= 0 {
			actor = members[e.actor].Email
		}
		events = append(events, wireEvent(e, actor, members))
	}
	body, _ := json.Marshal(struct {
		Events     []wireAuditEvent `json:"events"`
		Pagination auditPagination  `json:"pagination"`
		Params     map[string]int64 `json:"params"`
	}{
		Events:     events,
		Pagination: auditPagination{page, pageSize, total, pages, page < pages, page > 1},
		Params:     map[string]int64{"teamId": 4242, "startDate": start.UnixMilli(), "endDate": end.UnixMilli()},
	})
	writeJSON(w, http.StatusOK, body)
}

func wireEvent(e auditEvent, actor string, members []Member) wireAuditEvent {
	out := wireAuditEvent{
		EventID: e.id, Timestamp: e.at.UTC().Format("2006-01-02T15:04:05.000Z"), IPAddress: e.ip,
		UserEmail: actor, EventType: e.kind, EventData: map[string]any{},
	}
	switch e.kind {
	case "login":
		out.EventData = map[string]any{"ip_address": e.ip, "user_agent": "Cursor/2.1.0"}
	case "add_user":
		out.EventData = map[string]any{"email": members[e.target].Email, "method": "manual"}
	case "remove_user":
		out.EventData = map[string]any{"email": members[e.target].Email}
	case "update_user_role":
		out.EventData = map[string]any{"email": members[e.target].Email, "oldRole": "member", "newRole": members[e.target].Role}
	case "team_settings":
		out.EventData = map[string]any{"setting_name": "privacy_mode", "old_value": false, "new_value": true}
	}
	return out
}

// parseAuditTime reads the startTime/endTime forms of docs/cursor-api.md §3.3:
// now, today, yesterday, <n>d, <n>h, <n>s (ago), ISO-8601, YYYY-MM-DD,
// Unix seconds or milliseconds.
func parseAuditTime(v string, now time.Time) (time.Time, bool) {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch v {
	case "now":
		return now, true
	case "today":
		return today, true
	case "yesterday":
		return today.AddDate(0, 0, -1), true
	}
	if n := len(v); n > 1 {
		if k, err := strconv.Atoi(v[:n-1]); err == nil && k >= 0 {
			switch v[n-1] {
			case 'd':
				return now.Add(-time.Duration(k) * 24 * time.Hour), true
			case 'h':
				return now.Add(-time.Duration(k) * time.Hour), true
			case 's':
				return now.Add(-time.Duration(k) * time.Second), true
			}
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		if n >= 1e12 { // milliseconds
			return time.UnixMilli(n).UTC(), true
		}
		return time.Unix(n, 0).UTC(), true
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return d, true
	}
	if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return ts.UTC(), true
	}
	return time.Time{}, false
}
