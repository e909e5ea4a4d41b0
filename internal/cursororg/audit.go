package cursororg

import (
	"cmp"
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
// filter (docs/cursor-api.md §6.1.2, unread): we expect the team route's
// snake_case fields (§2.4) plus a teamId, but accept the camelCase names the
// rest of the Organization API uses as well, and a team id as a number or
// a string. event_data is kept raw.
type AuditEvent struct {
	ID        string
	Timestamp time.Time
	UserEmail string // the actor
	Type      string
	TeamID    ID // "" when the event is not about one team
	Data      json.RawMessage
}

func (e *AuditEvent) UnmarshalJSON(b []byte) error {
	var w struct {
		ID         string          `json:"event_id"`
		EventID    string          `json:"eventId"`
		Timestamp  time.Time       `json:"timestamp"`
		UserEmail  string          `json:"user_email"`
		UserEmailC string          `json:"userEmail"`
		Type       string          `json:"event_type"`
		TypeC      string          `json:"eventType"`
		TeamID     ID              `json:"teamId"`
		TeamIDs    ID              `json:"team_id"`
		Data       json.RawMessage `json:"event_data"`
		DataC      json.RawMessage `json:"eventData"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = AuditEvent{ID: cmp.Or(w.ID, w.EventID), Timestamp: w.Timestamp, UserEmail: cmp.Or(w.UserEmail, w.UserEmailC),
		Type: cmp.Or(w.Type, w.TypeC), TeamID: cmp.Or(w.TeamID, w.TeamIDs), Data: w.Data}
	if len(e.Data) == 0 {
		e.Data = w.DataC
	}
	return nil
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
