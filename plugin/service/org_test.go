package service

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursororg"
	"github.com/conductorone/baton-cursor/internal/pace"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const testOrgKey = "crsr_org_service-test-key"

// orgServer is a Server configured with only the organization key, its
// organization client paced at limit requests an hour (so the pacer's next
// slot is far away once they are spent).
func orgServer(t *testing.T, url string, limit int) *Server {
	t.Helper()
	s := New("test", hclog.NewNullLogger())
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{OrgApiKey: testOrgKey, BaseUrl: url, DeferKeyCheck: true}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	c, err := cursororg.New(cursororg.Config{BaseURL: url, APIKey: testOrgKey, Pacer: pace.New(limit, time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s.settings.org = c
	return s
}

// When the pace would block for long, a page is handed back with a
// reset time instead; a later call (here: a new plugin process) resumes at
// that page's token, and no page is read twice.
func TestOrgMembersHandBackAndResume(t *testing.T) {
	tenant, err := simulator.New(simulator.Config{APIKey: testKey, Members: 5, Org: simulator.OrgConfig{APIKey: testOrgKey, People: 1000, RateLimit: -1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	ctx := context.Background()

	s := orgServer(t, srv.URL, 2)
	seen := map[string]bool{}
	tok := ""
	for range 2 {
		resp, err := s.ListOrgMembers(ctx, &pluginv1.ListOrgMembersRequest{PageToken: tok, SyncId: "sync-1"})
		if err != nil {
			t.Fatalf("page within the pace: %v", err)
		}
		for _, m := range resp.GetMembers() {
			seen[m.GetKey()] = true
		}
		tok = resp.GetNextPageToken()
	}
	_, err = s.ListOrgMembers(ctx, &pluginv1.ListOrgMembersRequest{PageToken: tok, SyncId: "sync-1"})
	st := status.Convert(err)
	var rl *v2.RateLimitDescription
	for _, d := range st.Details() {
		if r, ok := d.(*v2.RateLimitDescription); ok {
			rl = r
		}
	}
	if st.Code() != codes.Unavailable || rl == nil || rl.GetStatus() != v2.RateLimitDescription_STATUS_OK || time.Until(rl.GetResetAt().AsTime()) < 30*time.Minute {
		t.Fatalf("third page past a pace of 2 an hour: %v (rate limit %v), want Unavailable with a STATUS_OK reset about an hour away", err, rl)
	}
	if n := tenant.Requests("/organizations/members"); n != 2 {
		t.Fatalf("%d member requests after the hand-back, want 2 (it must not send)", n)
	}

	fresh := orgServer(t, srv.URL, -1)
	for tok != "" {
		resp, err := fresh.ListOrgMembers(ctx, &pluginv1.ListOrgMembersRequest{PageToken: tok, SyncId: "sync-1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.GetMembers() {
			if seen[m.GetKey()] {
				t.Fatalf("%s listed twice", m.GetKey())
			}
			seen[m.GetKey()] = true
		}
		tok = resp.GetNextPageToken()
	}
	if len(seen) != 1000 {
		t.Errorf("%d people listed, want 1000", len(seen))
	}
	if n := tenant.Requests("/organizations/members"); n != 5 {
		t.Errorf("%d member requests for 5 pages, want 5 (resumed at page 3)", n)
	}
}

// An organization role other than admin and member is listed too (as team
// roles are), so its holders get a grant.
func TestOrgTeamsListEveryOrganizationRole(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"members":[
			{"userId":1,"email":"a@example.com","organizationRole":"member","teams":[{"teamId":7,"teamRole":"owner"}]},
			{"userId":2,"email":"b@example.com","organizationRole":"billing-admin","teams":[]},
			{"userId":3,"email":"c@example.com","organizationRole":"auditor","teams":[]}],
			"pagination":{"page":1,"pageSize":200,"totalCount":3,"totalPages":1,"hasNextPage":false,"hasPreviousPage":false}}`))
	}))
	t.Cleanup(srv.Close)
	resp, err := orgServer(t, srv.URL, -1).ListOrgTeams(context.Background(), &pluginv1.ListOrgTeamsRequest{SyncId: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(resp.GetOrganizationRoles(), ","); got != "admin,member,auditor,billing-admin" {
		t.Errorf("organization roles %q, want admin,member,auditor,billing-admin", got)
	}
}
