package service

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursororg"
)

// orgFeedEventTypes are the organization audit log events the feed serves:
// the team feed's, for every team, and group and team membership changes.
// The organization log's event types are not documented (docs/cursor-api.md
// §6.1.2); the group and team ones here are the names the simulator uses,
// an assumption to check against a real organization.
var orgFeedEventTypes = append(slices.Clone(feedEventTypes), "add_user_to_group", "remove_user_from_group", "update_user_teams")

// orgAuditCursor is the organization log's place: the window [Start, End]
// and Cursor's page token in it (End is fixed for the window so its pages
// stay put), and the newest event seen.
type orgAuditCursor struct {
	Start  int64  `json:"s"`
	End    int64  `json:"e"`
	Token  string `json:"k,omitempty"`
	Latest int64  `json:"l"`
}

// orgAuditPage reads one page of GET /organizations/audit-logs into resp
// and moves cur.Org on. teamServed: the team log was read in this call, so
// the team key's own events (cur.Team) are left to it. A full pace window
// skips the organization part of this call (it resumes on the next one)
// rather than hold the team part back; the poll after resumes it.
func (s *Server) orgAuditPage(ctx context.Context, set *settings, cur *auditCursor, now time.Time, resp *pluginv1.ListAuditEventsResponse, teamServed bool) error {
	if time.Until(set.org.Pacer().Next()) > handBack {
		return nil // not has_more: the next poll comes back for it
	}
	oc := cur.Org
	if oc == nil {
		oc = &orgAuditCursor{Start: cur.Start}
	}
	if oc.Token == "" { // a new window
		oc.End = windowEnd(time.UnixMilli(oc.Start), now).UnixMilli()
	}
	start, end := time.UnixMilli(oc.Start).UTC(), time.UnixMilli(oc.End).UTC()
	page, err := set.org.AuditLogsPage(ctx, cursororg.AuditQuery{Start: start, End: end, EventTypes: orgFeedEventTypes}, oc.Token)
	if err != nil {
		return err
	}
	for _, ev := range page.Items {
		oc.Latest = max(oc.Latest, ev.Timestamp.UnixMilli())
		if teamServed && cur.Team != "" && string(ev.TeamID) == cur.Team && slices.Contains(feedEventTypes, ev.Type) {
			continue // the team log served it (the same event on both routes)
		}
		var data struct {
			Email         string `json:"email"`
			GroupID       string `json:"groupId"`
			GroupPublicID string `json:"groupPublicId"`
		}
		_ = json.Unmarshal(ev.Data, &data) // free-form: a field of another shape is left out
		out := &pluginv1.AuditEvent{
			Id: ev.ID, OccurredAt: timestamppb.New(ev.Timestamp), Type: ev.Type, Organization: true, TeamId: string(ev.TeamID),
			ActorKey:   strings.ToLower(strings.TrimSpace(ev.UserEmail)),
			SubjectKey: strings.ToLower(strings.TrimSpace(data.Email)),
		}
		if strings.HasSuffix(ev.Type, "_group") {
			out.GroupKey = cmp.Or(data.GroupPublicID, data.GroupID) // the group resource's key: publicId where given
		}
		addAuditEvent(resp, out)
	}
	if page.Next != "" {
		oc.Token = page.Next
		resp.HasMore = true
	} else {
		var more bool
		oc.Start, _, more = nextAuditPage(oc.Start, 1, oc.Latest, false, end, now)
		oc.Token = ""
		resp.HasMore = resp.HasMore || more
	}
	cur.Org = oc
	return nil
}
