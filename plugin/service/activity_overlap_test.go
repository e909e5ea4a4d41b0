package service

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// TestEnrichmentStartsWhileTheRosterDownloads holds the roster's answer at
// the server until an activity request has arrived: enrichment that waited
// for the roster (as before issue 18) never sends one in time, so the roster
// is answered after 10 s with no activity request seen. The sync must still
// end with every member's activity read.
func TestEnrichmentStartsWhileTheRosterDownloads(t *testing.T) {
	tenant, err := simulator.New(simulator.Config{Members: 300, Seed: 3, APIKey: testKey, SCIMToken: "scim-token"})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu          sync.Mutex
		seen        []string // routes in the order their requests arrived
		activity    = make(chan struct{})
		once        sync.Once
		overlapped  bool
		rosterCalls int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/teams/audit-logs"), r.URL.Path == "/teams/daily-usage-data", r.URL.Path == "/teams/spend":
			once.Do(func() { close(activity) })
		case r.URL.Path == "/teams/members":
			select {
			case <-activity:
				mu.Lock()
				overlapped = true
				mu.Unlock()
			case <-time.After(10 * time.Second):
			}
			mu.Lock()
			rosterCalls++
			mu.Unlock()
		}
		tenant.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := New("test", hclog.NewNullLogger())
	// As the host configures it: the first sync call reads the roster.
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: testKey, BaseUrl: srv.URL,
		ScimUrl: srv.URL + "/scim/v2", ScimToken: "scim-token", DeferKeyCheck: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if !overlapped || rosterCalls != 1 {
		t.Errorf("no activity request arrived while the roster was being answered (%d roster requests); requests in order: %v", rosterCalls, seen)
	}
	mu.Unlock()
	members := listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 1000})
	usage, spend := 0, 0
	for _, m := range members {
		a := m.GetActivity()
		if !a.GetUsageKnown() || !a.GetLoginsKnown() {
			t.Fatalf("member %s: usage known %v, logins known %v; want both read", m.GetKey(), a.GetUsageKnown(), a.GetLoginsKnown())
		}
		if a.GetActiveDays() > 0 {
			usage++
		}
		if a.GetSpendKnown() {
			spend++
		}
	}
	if usage == 0 || spend != len(members) {
		t.Errorf("of %d active members, %d have active days and %d spend; want some and all", len(members), usage, spend)
	}
}
