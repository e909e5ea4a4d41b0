package cursorapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// simulated serves a simulated tenant and returns a client of it.
func simulated(t *testing.T, cfg simulator.Config) (*Client, *simulator.Tenant) {
	t.Helper()
	cfg.APIKey = testKey
	tenant, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return newClient(t, srv.URL, &recorder{}), tenant
}

// requireRoster checks got is the tenant's roster, row by row, in order.
func requireRoster(t *testing.T, got []Member, want []simulator.Member) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d members, want %d", len(got), len(want))
	}
	for i, w := range want {
		id := fmt.Sprint(w.ID)
		if g := got[i]; g.ID != id || g.PublicID != w.PublicID || g.Email != w.Email || g.Role != w.Role || g.IsRemoved != w.IsRemoved {
			t.Fatalf("member %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestListMembersReadsEveryPage(t *testing.T) {
	// The tenant clamps the 500 asked for to 100 a page: 11 pages, the last of 50.
	c, tenant := simulated(t, simulator.Config{Members: 1050, Seed: 3, IDStyle: simulator.IDStylePublic, MembersPageSize: 100})
	got, err := c.ListMembers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireRoster(t, got, tenant.Members())
	if got[0].PublicID == "" || !strings.HasPrefix(got[0].PublicID, "user_") || got[0].ID == "" {
		t.Errorf("member 0 = %+v, want a numeric id beside a user_ publicId", got[0])
	}
	if n := tenant.Requests(membersPath); n != 11 {
		t.Errorf("%d requests, want 11 (one a page)", n)
	}
}

func TestListMembersUnpagedIsOneRequest(t *testing.T) {
	c, tenant := simulated(t, simulator.Config{Members: 1050, Seed: 3})
	got, err := c.ListMembers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireRoster(t, got, tenant.Members())
	if n := tenant.Requests(membersPath); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestListMembersRosterChangingOnceIsReadAgain(t *testing.T) {
	c, tenant := simulated(t, simulator.Config{Members: 250, Seed: 3, MembersPageSize: 100,
		Faults: simulator.Faults{RosterChangesBetweenPages: 1}})
	got, err := c.ListMembers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireRoster(t, got, tenant.Members()) // 251: the second read holds the member who joined
	if len(got) != 251 {
		t.Errorf("read %d members, want 251", len(got))
	}
	if n := tenant.Requests(membersPath); n != 2+3 {
		t.Errorf("%d requests, want 5 (2 pages of the read that changed, 3 of the whole one)", n)
	}
}

func TestListMembersRosterChangingEveryTimeIsRefused(t *testing.T) {
	c, tenant := simulated(t, simulator.Config{Members: 250, Seed: 3, MembersPageSize: 100,
		Faults: simulator.Faults{RosterChangesBetweenPages: -1}})
	got, err := c.ListMembers(context.Background())
	want := "Cursor's roster changed while it was read twice (totalCount went from 250 to 251 at page 2; " +
		"then totalCount went from 251 to 252 at page 2): people were probably joining or leaving the team meanwhile; sync again later"
	if status.Code(err) != codes.Unavailable || err.Error() != want {
		t.Fatalf("ListMembers = %d members, %v (%v)\nwant Unavailable: %s", len(got), err, status.Code(err), want)
	}
	if n := tenant.Requests(membersPath); n != 4 {
		t.Errorf("%d requests, want 4 (two reads of two pages)", n)
	}
}

// pagedServer answers GET /teams/members?page=N with answer(N, call), call
// counting from 1 across every request; it counts requests.
func pagedServer(t *testing.T, answer func(page, call int) string) (*Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := int(n.Add(1))
		page, err := strconv.Atoi(r.URL.Query().Get("page"))
		if err != nil || r.URL.Query().Get("pageSize") != "500" {
			t.Errorf("request %s lacks page or pageSize=500", r.URL)
		}
		fmt.Fprint(w, answer(page, call))
	}))
	t.Cleanup(srv.Close)
	return newClient(t, srv.URL, &recorder{}), &n
}

// page is an answer holding rows first..last (ids u<i>) and a pagination
// object; total < 0 leaves totalCount out.
func page(first, last int, next bool, total int) string {
	var b strings.Builder
	b.WriteString(`{"teamMembers":[`)
	for i := first; i <= last; i++ {
		if i > first {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%d","publicId":"user_%d","email":"m%d@x.test","role":"member","isRemoved":false}`, i, i, i)
	}
	b.WriteString(`],"pagination":{"hasNextPage":` + strconv.FormatBool(next))
	if total >= 0 {
		fmt.Fprintf(&b, `,"totalCount":%d`, total)
	}
	return b.String() + `}}`
}

func TestListMembersPagedEdges(t *testing.T) {
	defer func(n int) { maxMemberPages = n }(maxMemberPages)
	maxMemberPages = 50
	cases := []struct {
		name     string
		answer   func(page, call int) string
		members  int   // when the read succeeds
		requests int32 // exact
		code     codes.Code
		err      string // when it fails: the whole message
	}{
		{"a pagination object saying no more pages is one request",
			func(p, _ int) string { return page(1, 3, false, 3) }, 3, 1, codes.OK, ""},
		{"pages without totalCount are read to the last",
			func(p, _ int) string { return page(3*p-2, 3*p, p < 3, -1) }, 9, 3, codes.OK, ""},
		{"a row shifted onto the next page (someone joined early in the order) is read again",
			func(p, call int) string {
				if call == 2 { // page 2 of the first read starts with page 1's last row
					return page(3, 5, true, -1)
				}
				return page(3*p-2, 3*p, p < 2, -1)
			}, 6, 4, codes.OK, ""},
		{"a short page before the last, every time, is refused",
			func(p, _ int) string {
				if p == 2 {
					return page(4, 5, true, -1)
				}
				return page(3*p-2, 3*p, p < 3, -1)
			}, 0, 4, codes.Unavailable,
			"Cursor's roster changed while it was read twice (page 2 held 2 members where 3 were due and more pages followed; " +
				"then page 2 held 2 members where 3 were due and more pages followed): people were probably joining or leaving the team meanwhile; sync again later"},
		{"fewer members than totalCount said, every time, is refused",
			func(p, _ int) string { return page(3*p-2, 3*p, p < 2, 7) }, 0, 4, codes.Unavailable,
			"Cursor's roster changed while it was read twice (the pages held 6 members where totalCount said 7; " +
				"then the pages held 6 members where totalCount said 7): people were probably joining or leaving the team meanwhile; sync again later"},
		{"an empty page that says more follow, forever, is refused",
			func(p, _ int) string {
				if p == 1 {
					return page(1, 3, true, -1)
				}
				return page(1, 0, true, -1)
			}, 0, 4, codes.Unavailable,
			"Cursor's roster changed while it was read twice (page 2 held 0 members where 3 were due and more pages followed; " +
				"then page 2 held 0 members where 3 were due and more pages followed): people were probably joining or leaving the team meanwhile; sync again later"},
		{"a server that says hasNextPage forever stops at the page cap",
			func(p, _ int) string { return page(3*p-2, 3*p, true, -1) }, 0, 50, codes.Internal,
			"Cursor's GET /teams/members still said hasNextPage after 50 pages; giving up"},
		{"a server that ignores page is an error at once",
			func(p, _ int) string { return page(1, 3, true, -1) }, 0, 2, codes.Internal,
			"Cursor's GET /teams/members returned page 1 again for page 2: it ignores page, so the roster cannot be read whole"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, n := pagedServer(t, tc.answer)
			got, err := c.ListMembers(context.Background())
			switch {
			case tc.code == codes.OK && err != nil:
				t.Fatalf("ListMembers: %v", err)
			case tc.code == codes.OK && len(got) != tc.members:
				t.Errorf("read %d members, want %d", len(got), tc.members)
			case tc.code != codes.OK && (status.Code(err) != tc.code || err.Error() != tc.err):
				t.Errorf("ListMembers = %d members, %v (%v)\nwant %v: %s", len(got), err, status.Code(err), tc.code, tc.err)
			}
			for i, m := range got {
				if want := fmt.Sprintf("user_%d", i+1); m.PublicID != want {
					t.Fatalf("member %d has publicId %q, want %q (in order, none twice)", i, m.PublicID, want)
				}
			}
			if n.Load() != tc.requests {
				t.Errorf("%d requests, want %d", n.Load(), tc.requests)
			}
		})
	}
}
