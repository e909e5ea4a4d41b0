package cursororg

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const auditLogsPath = "/organizations/audit-logs"

// AuditEvent is one event of GET /organizations/audit-logs. Its parameters
// and shape are documented only as "mirroring" the team route with a team
// filter (cursor-api.md §6.1.2, unread); the fields here are the team
// route's snake_case ones (§2.4), event_data kept raw.
type AuditEvent struct {
	ID        string          `json:"event_id"`
	Timestamp time.Time       `json:"timestamp"`
	IPAddress string          `json:"ip_address"`
	UserEmail string          `json:"user_email"` // the actor
	Type      string          `json:"event_type"`
	Data      json.RawMessage `json:"event_data"`
}

// AuditQuery selects events; zero fields are left to Cursor's defaults
// (the last 7 days). The window may not exceed 30 days (§2.4, assumed here).
type AuditQuery struct {
	Start, End time.Time
	EventTypes []string
	Search     string
	Users      []string // emails or user ids, mixed
	TeamID     string
}

// AuditLogsPage returns the page of events tok names.
func (c *Client) AuditLogsPage(ctx context.Context, q AuditQuery, tok string) (Page[AuditEvent], error) {
	v := url.Values{}
	if !q.Start.IsZero() {
		v.Set("startTime", strconv.FormatInt(q.Start.UnixMilli(), 10))
	}
	if !q.End.IsZero() {
		v.Set("endTime", strconv.FormatInt(q.End.UnixMilli(), 10))
	}
	if len(q.EventTypes) > 0 {
		v.Set("eventTypes", strings.Join(q.EventTypes, ","))
	}
	if len(q.Users) > 0 {
		v.Set("users", strings.Join(q.Users, ","))
	}
	if q.Search != "" {
		v.Set("search", q.Search)
	}
	if q.TeamID != "" {
		v.Set("teamId", q.TeamID)
	}
	return list[AuditEvent](ctx, c, auditLogsPath, v, "events", tok)
}
