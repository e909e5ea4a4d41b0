package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/cursororg"
)

// feedEventTypes are the audit events the feed serves: logins (usage) and
// member changes (a re-sync of that member).
var feedEventTypes = []string{"login", "add_user", "remove_user", "update_user_role"}

const (
	auditCursorPrefix = "a1."
	defaultFeedStart  = 7 * 24 * time.Hour // Cursor's own default startTime
)

// auditCursor is where a listing stands: the window [Start, Start+30d ∧ now]
// and the page in it. Page numbers only mean something with one page size,
// so the size travels too. Latest is the newest event seen so far; a caught-up
// listing restarts there. Org is the organization audit log's own place
// (org_audit.go); Team is the team key's team id as that log names it.
type auditCursor struct {
	Start  int64           `json:"s"` // epoch ms
	Page   int             `json:"p"`
	Size   int             `json:"z"`
	Latest int64           `json:"l"` // epoch ms; 0 = none yet
	Org    *orgAuditCursor `json:"o,omitempty"`
	Team   string          `json:"t,omitempty"`
}

// ListAuditEvents returns one page of login and member-change events: the
// team's audit log with the team key, and the organization's with the
// organization key. Either part failing leaves the other serving, with a
// warning naming the part that is off; both failing fails the call.
func (s *Server) ListAuditEvents(ctx context.Context, req *pluginv1.ListAuditEventsRequest) (*pluginv1.ListAuditEventsResponse, error) {
	s.mu.Lock()
	set := s.settings
	now := s.now().UTC()
	s.mu.Unlock()
	if set == nil {
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: not configured: the host must call Configure first")
	}
	team := set.activity != nil && !teamKeyOff(set)
	if !team && set.org == nil {
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: this plugin's Admin API client cannot read the audit log")
	}
	cur, err := parseAuditCursor(req, now)
	if err != nil {
		return nil, err
	}
	resp := &pluginv1.ListAuditEventsResponse{}
	var teamErr, orgErr error
	if team {
		if teamErr = s.teamAuditPage(ctx, set, &cur, now, resp); teamErr != nil {
			s.logger.Warn("reading Cursor's audit log failed", "error", teamErr.Error())
		}
	}
	if set.org != nil {
		orgErr = s.orgAuditPage(ctx, set, &cur, now, resp, team && teamErr == nil)
	}
	switch {
	case teamErr != nil && (set.org == nil || orgErr != nil):
		return nil, teamErr
	case orgErr != nil && !team:
		return nil, orgErr
	case teamErr != nil:
		if _, logged := set.feedWarned.LoadOrStore("team:"+teamErr.Error(), true); !logged { // once per key, not every poll
			s.logger.Warn("the team audit log part of the event feed is off; the organization audit log still serves",
				"setting", "cursor-api-key", "error", teamErr.Error())
		}
	case orgErr != nil:
		if _, logged := set.feedWarned.LoadOrStore("org:"+orgErr.Error(), true); !logged { // once per key, not every poll
			s.logger.Warn("the organization audit log part of the event feed is off; the team audit log still serves",
				"setting", cursororg.Setting, "error", orgErr.Error())
		}
	}
	resp.NextCursor = encodeAuditCursor(cur)
	return resp, nil
}

// teamAuditPage reads the team log's page at cur into resp and moves cur on.
func (s *Server) teamAuditPage(ctx context.Context, set *settings, cur *auditCursor, now time.Time, resp *pluginv1.ListAuditEventsResponse) error {
	start := time.UnixMilli(cur.Start).UTC()
	end := windowEnd(start, now)
	page, err := set.activity.AuditLogs(ctx, cursorapi.AuditQuery{Start: start, End: end, Types: feedEventTypes, Page: cur.Page, PageSize: cur.Size})
	if err != nil {
		return err
	}
	if page.TeamID != "" {
		cur.Team = page.TeamID
	}
	for _, ev := range page.Events {
		cur.Latest = max(cur.Latest, ev.Timestamp.UnixMilli())
		addAuditEvent(resp, &pluginv1.AuditEvent{
			Id:         ev.ID,
			OccurredAt: timestamppb.New(ev.Timestamp),
			Type:       ev.Type,
			ActorKey:   strings.ToLower(strings.TrimSpace(ev.UserEmail)),
			SubjectKey: strings.ToLower(strings.TrimSpace(ev.Data.Email)),
		})
	}
	var more bool
	cur.Start, cur.Page, more = nextAuditPage(cur.Start, cur.Page, cur.Latest, page.HasNextPage && len(page.Events) > 0, end, now)
	resp.HasMore = resp.HasMore || more
	return nil
}

// addAuditEvent adds ev to resp once (by id); a login's subject is its
// actor, and an event naming no user is counted as skipped.
func addAuditEvent(resp *pluginv1.ListAuditEventsResponse, ev *pluginv1.AuditEvent) {
	if ev.Type == "login" {
		ev.SubjectKey = ev.ActorKey
	}
	if (ev.SubjectKey == "" && ev.GroupKey == "") || ev.Id == "" {
		resp.SkippedWithoutEmail++
		return
	}
	for _, e := range resp.Events {
		if e.Id == ev.Id {
			return
		}
	}
	resp.Events = append(resp.Events, ev)
}

// nextAuditPage is where a listing of the window [start, end] goes after a
// page: the next page, the next window when end was clamped, or (caught up)
// the newest event seen, for the next poll (repeats dedupe by id).
func nextAuditPage(start int64, page int, latest int64, hasNext bool, end, now time.Time) (int64, int, bool) {
	switch {
	case hasNext:
		return start, page + 1, true
	case end.Before(now):
		return end.UnixMilli(), 1, true
	}
	return max(start, latest), 1, false
}

func parseAuditCursor(req *pluginv1.ListAuditEventsRequest, now time.Time) (auditCursor, error) {
	if req.GetCursor() == "" {
		start := now.Add(-defaultFeedStart)
		if ts := req.GetStartTime(); ts != nil {
			start = ts.AsTime()
		}
		if start.After(now) {
			start = now
		}
		size := int(req.GetPageSize())
		if size <= 0 || size > cursorapi.MaxAuditPageSize {
			size = cursorapi.MaxAuditPageSize
		}
		return auditCursor{Start: start.UnixMilli(), Page: 1, Size: size}, nil
	}
	bad := status.Error(codes.InvalidArgument, "baton-cursor-plugin: the audit cursor is not one this plugin issued; start the feed again without it")
	raw, ok := strings.CutPrefix(req.GetCursor(), auditCursorPrefix)
	if !ok {
		return auditCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	var c auditCursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.Page < 1 || c.Size < 1 || c.Size > cursorapi.MaxAuditPageSize || c.Start < 0 {
		return auditCursor{}, bad
	}
	return c, nil
}

func encodeAuditCursor(c auditCursor) string {
	b, _ := json.Marshal(c) // ints only: cannot fail
	return auditCursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// windowEnd is the end of the audit window starting at start: 30 days on, or now.
func windowEnd(start, now time.Time) time.Time {
	if end := start.Add(cursorapi.MaxAuditWindow); end.Before(now) {
		return end
	}
	return now
}
