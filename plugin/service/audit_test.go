package service

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// drainFeed pages ListAuditEvents until it has caught up; it returns the
// events by id and the cursor to poll with next.
func drainFeed(t *testing.T, s *Server, req *pluginv1.ListAuditEventsRequest) (map[string]*pluginv1.AuditEvent, string, int) {
	t.Helper()
	got := map[string]*pluginv1.AuditEvent{}
	for calls := 1; ; calls++ {
		if calls > 1000 {
			t.Fatal("the feed never caught up")
		}
		resp, err := s.ListAuditEvents(context.Background(), req)
		if err != nil {
			t.Fatalf("ListAuditEvents: %v", err)
		}
		if len(resp.GetEvents()) > int(max(req.GetPageSize(), 0)) && req.GetPageSize() > 0 {
			t.Fatalf("page of %d events, asked for %d", len(resp.GetEvents()), req.GetPageSize())
		}
		for _, e := range resp.GetEvents() {
			got[e.GetId()] = e
		}
		if resp.GetNextCursor() == "" {
			t.Fatal("an empty next cursor: the feed could not resume")
		}
		if !resp.GetHasMore() {
			return got, resp.GetNextCursor(), calls
		}
		req = &pluginv1.ListAuditEventsRequest{Cursor: resp.GetNextCursor()}
	}
}

func TestAuditFeedWalksWindowsOfAtMost30DaysAndResumesAfterTheNewestEvent(t *testing.T) {
	s, tenant := newSimulated(t, simulator.Config{Members: 300, Seed: 2})
	since := time.Now().Add(-59 * 24 * time.Hour)
	got, cursor, calls := drainFeed(t, s, &pluginv1.ListAuditEventsRequest{StartTime: timestamppb.New(since), PageSize: 50})

	want := 0
	for _, e := range tenant.AuditEvents() {
		member := e.Type == "add_user" || e.Type == "remove_user" || e.Type == "update_user_role"
		if !e.Timestamp.Before(since) && (e.Type == "login" && e.UserEmail != "" || member) {
			want++
			if _, ok := got[e.ID]; !ok {
				t.Errorf("event %s (%s at %v) missing", e.ID, e.Type, e.Timestamp)
			}
		}
	}
	if len(got) != want {
		t.Errorf("%d events, want %d", len(got), want)
	}
	if calls < 2+want/50 {
		t.Errorf("%d calls for %d events in pages of 50 over two windows", calls, want)
	}

	// Caught up: polling again returns only what is at or after the newest
	// event, which the ids dedupe.
	again, _, _ := drainFeed(t, s, &pluginv1.ListAuditEventsRequest{Cursor: cursor})
	for id := range again {
		if _, seen := got[id]; !seen {
			t.Errorf("a poll with no new events returned unseen event %s", id)
		}
	}
	if len(again) > 3 {
		t.Errorf("a caught-up poll returned %d events again, want only those at the newest timestamp", len(again))
	}
}

func TestAuditFeedRejectsAForeignCursor(t *testing.T) {
	s, _ := newSimulated(t, simulator.Config{Members: 5})
	_, err := s.ListAuditEvents(context.Background(), &pluginv1.ListAuditEventsRequest{Cursor: "k1.abc"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("foreign cursor: %v, want InvalidArgument", err)
	}
}
