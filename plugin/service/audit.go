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
// listing restarts there.
type auditCursor struct {
	Start  int64 `json:"s"` // epoch ms
	Page   int   `json:"p"`
	Size   int   `json:"z"`
	Latest int64 `json:"l"` // epoch ms; 0 = none yet
}

// ListAuditEvents returns one page of login and member-change events.
func (s *Server) ListAuditEvents(ctx context.Context, req *pluginv1.ListAuditEventsRequest) (*pluginv1.ListAuditEventsResponse, error) {
	s.mu.Lock()
	set := s.settings
	now := s.now().UTC()
	s.mu.Unlock()
	if set == nil {
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: not configured: the host must call Configure first")
	}
	if set.activity == nil {
		return nil, status.Error(codes.FailedPrecondition, "baton-cursor-plugin: this plugin's Admin API client cannot read the audit log")
	}
	cur, err := parseAuditCursor(req, now)
	if err != nil {
		return nil, err
	}
	start := time.UnixMilli(cur.Start).UTC()
	end := start.Add(cursorapi.MaxAuditWindow)
	if end.After(now) {
		end = now
	}
	page, err := set.activity.AuditLogs(ctx, cursorapi.AuditQuery{Start: start, End: end, Types: feedEventTypes, Page: cur.Page, PageSize: cur.Size})
	if err != nil {
		s.logger.Warn("reading Cursor's audit log failed", "error", err.Error())
		return nil, err
	}
	resp := &pluginv1.ListAuditEventsResponse{}
	for _, ev := range page.Events {
		if ms := ev.Timestamp.UnixMilli(); ms > cur.Latest {
			cur.Latest = ms
		}
		out := &pluginv1.AuditEvent{
			Id:         ev.ID,
			OccurredAt: timestamppb.New(ev.Timestamp),
			Type:       ev.Type,
			ActorKey:   strings.ToLower(strings.TrimSpace(ev.UserEmail)),
			SubjectKey: strings.ToLower(strings.TrimSpace(ev.Data.Email)),
		}
		if ev.Type == "login" {
			out.SubjectKey = out.ActorKey
		}
		if out.SubjectKey == "" || out.Id == "" {
			resp.SkippedWithoutEmail++
			continue
		}
		resp.Events = append(resp.Events, out)
	}
	next := cur
	switch {
	case page.HasNextPage && len(page.Events) > 0:
		next.Page++
		resp.HasMore = true
	case end.Before(now): // a clamped window: walk on to the next
		next.Start, next.Page = end.UnixMilli(), 1
		resp.HasMore = true
	default: // caught up: the next poll starts at the newest event (repeats dedupe by id)
		next.Page = 1
		if cur.Latest > cur.Start {
			next.Start = cur.Latest
		}
	}
	resp.NextCursor = encodeAuditCursor(next)
	return resp, nil
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
