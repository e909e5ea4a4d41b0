package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// bigGroups serves a team directory group dg_big of people members in
// Cursor's pages of the asked pageSize, and a billing group of as many, and
// counts the requests to each route.
func bigGroups(t *testing.T, people int) (*Server, *atomic.Int64, *atomic.Int64) {
	t.Helper()
	var dir, billing atomic.Int64
	member := func(i int) map[string]string {
		return map[string]string{"userId": "user_" + strconv.Itoa(i), "email": fmt.Sprintf("P%05d@example.com", i)}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/teams/directory-groups/dg_big/members":
			dir.Add(1)
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
			var ms []map[string]string
			for i := (page - 1) * size; i < min(page*size, people); i++ {
				ms = append(ms, member(i))
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"members": ms,
				"pagination": map[string]any{"page": page, "pageSize": size, "totalCount": people, "hasNextPage": page*size < people}})
		case "/teams/groups":
			billing.Add(1)
			var ms []map[string]string
			for i := range people {
				ms = append(ms, member(i))
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"groups": []any{map[string]any{"id": "group_big", "name": "Big", "memberCount": people, "currentMembers": ms}},
				"unassignedGroup": map[string]any{"id": "unassigned", "currentMembers": []any{}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	s := New("test", hclog.NewNullLogger())
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: testKey, OrgApiKey: testOrgKey, BaseUrl: srv.URL, DeferKeyCheck: true}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s, &dir, &billing
}

// A group of 5,000 is handed out 1,000 a page, but Cursor is read once:
// 25 requests of 200 for the directory group (the old code read the whole
// group again for every page: 125), 1 for the billing groups, however the
// pages are asked (a page again, pages out of order).
func TestLargeTeamGroupIsReadOncePerListing(t *testing.T) {
	const people = 5000
	s, dir, billing := bigGroups(t, people)
	ctx := context.Background()
	for _, c := range []struct {
		kind        pluginv1.GroupKind
		id          string
		count       *atomic.Int64
		cursorPages int64
	}{
		{pluginv1.GroupKind_GROUP_KIND_TEAM_DIRECTORY, "dg_big", dir, people / 200},
		{pluginv1.GroupKind_GROUP_KIND_BILLING, "group_big", billing, 1},
	} {
		seen := map[string]bool{}
		var toks []string
		for tok, pages := "", 0; ; pages++ {
			resp, err := s.ListOrgGroupMembers(ctx, &pluginv1.ListOrgGroupMembersRequest{Kind: c.kind, GroupId: c.id, PageToken: tok})
			if err != nil {
				t.Fatalf("%s page %d: %v", c.id, pages, err)
			}
			for _, k := range resp.GetKeys() {
				if seen[k] {
					t.Fatalf("%s: %s listed twice", c.id, k)
				}
				seen[k] = true
			}
			if tok = resp.GetNextPageToken(); tok == "" {
				break
			}
			toks = append(toks, tok)
		}
		if len(seen) != people || len(toks) != people/groupPage-1 {
			t.Fatalf("%s: %d members in %d pages, want %d in %d", c.id, len(seen), len(toks)+1, people, people/groupPage)
		}
		// Re-asked, last page first: served from the same read.
		for i := len(toks) - 1; i >= 0; i-- {
			resp, err := s.ListOrgGroupMembers(ctx, &pluginv1.ListOrgGroupMembersRequest{Kind: c.kind, GroupId: c.id, PageToken: toks[i]})
			if err != nil || len(resp.GetKeys()) != groupPage {
				t.Fatalf("%s: page %d again: %d keys, %v", c.id, i+2, len(resp.GetKeys()), err)
			}
		}
		if n := c.count.Load(); n != c.cursorPages {
			t.Errorf("%s: %d requests to Cursor, want %d (its pages, read once)", c.id, n, c.cursorPages)
		}
	}
}
