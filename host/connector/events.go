package connector

import (
	"context"
	"fmt"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/pagination"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// AuditFeedID names the event feed over Cursor's audit log.
const AuditFeedID = "cursor_audit_log"

// EventFeeds offers the audit log feed (CAPABILITY_EVENT_FEED_V2).
func (c *Connector) EventFeeds(ctx context.Context) []connectorbuilder.EventFeed {
	if sc := c.syncScope(ctx); sc.teamOff && !sc.org {
		return nil // the team's audit log needs the team key, the organization's the organization key
	}
	return []connectorbuilder.EventFeed{&auditFeed{conn: c}}
}

type auditFeed struct{ conn *Connector }

var _ connectorbuilder.EventFeed = (*auditFeed)(nil)

func (f *auditFeed) EventFeedMetadata(context.Context) *v2.EventFeedMetadata {
	return v2.EventFeedMetadata_builder{
		Id:                  AuditFeedID,
		SupportedEventTypes: []v2.EventType{v2.EventType_EVENT_TYPE_USAGE, v2.EventType_EVENT_TYPE_RESOURCE_CHANGE},
	}.Build()
}

// ListEvents returns one page of Cursor's audit logs (the team's, and the
// organization's with its key): logins as usage events (the member used the
// team), member changes as resource changes of that member so C1 re-syncs
// them, organization group changes as changes of the group. The plugin's
// cursor is the stream cursor.
func (f *auditFeed) ListEvents(ctx context.Context, earliest *timestamppb.Timestamp, tok *pagination.StreamToken) ([]*v2.Event, *pagination.StreamState, annotations.Annotations, error) {
	svc, err := f.conn.client(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	// Pages of 500 whatever the caller's page size: Cursor's largest, and
	// each page is one of the team's 20 requests a minute.
	req := &pluginv1.ListAuditEventsRequest{StartTime: earliest}
	if tok != nil {
		req.Cursor = tok.Cursor
	}
	resp, err := svc.ListAuditEvents(ctx, req)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("baton-cursor: list audit events: %w", err)
	}
	if n := resp.GetSkippedWithoutEmail(); n > 0 {
		ctxzap.Extract(ctx).Debug("audit events without a user were left out (Cursor drops the email of removed users)", zap.Uint32("count", n))
	}
	team, err := teamResource()
	if err != nil {
		return nil, nil, nil, err
	}
	out := make([]*v2.Event, 0, len(resp.GetEvents()))
	for _, ev := range resp.GetEvents() {
		out = append(out, feedEvent(ev, team))
	}
	return out, &pagination.StreamState{Cursor: resp.GetNextCursor(), HasMore: resp.GetHasMore()}, nil, nil
}

// feedEvent maps one audit event: a login is a usage event of the team it
// names (the key's team when none, or it came from the team log); a group
// membership change of the organization log is a change of that group (C1
// re-syncs its grants); any other is a change of the member it is about.
func feedEvent(ev *pluginv1.AuditEvent, team *v2.Resource) *v2.Event {
	e := v2.Event_builder{Id: ev.GetId(), OccurredAt: ev.GetOccurredAt()}
	user := v2.ResourceId_builder{ResourceType: UserResourceType.GetId(), Resource: ev.GetSubjectKey()}.Build()
	switch {
	case ev.GetType() == "login":
		target := team
		if ev.GetOrganization() && ev.GetTeamId() != "" {
			target = v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: OrgTeamResourceType.GetId(), Resource: ev.GetTeamId()}.Build()}.Build()
		}
		e.UsageEvent = v2.UsageEvent_builder{
			TargetResource: target,
			ActorResource:  v2.Resource_builder{Id: user, DisplayName: ev.GetSubjectKey()}.Build(),
		}.Build()
	case ev.GetGroupKey() != "":
		e.ResourceChangeEvent = v2.ResourceChangeEvent_builder{
			ResourceId: v2.ResourceId_builder{ResourceType: OrgGroupResourceType.GetId(), Resource: ev.GetGroupKey()}.Build(),
		}.Build()
	default:
		e.ResourceChangeEvent = v2.ResourceChangeEvent_builder{ResourceId: user}.Build()
	}
	return e.Build()
}
