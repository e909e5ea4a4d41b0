package scim

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
)

// Listing against fake servers that misbehave in ways the simulator does not;
// list_sim_test.go lists the simulated tenant.

func TestFindByUserNameFollowsPaging(t *testing.T) {
	// A server that ignores the filter and caps pages at 100: the match is on the second page.
	users := append(numbered(150), userJSON("target", "t@x.com"))
	srv, log := fake(t, listServer(t, users, listOpts{ignoreFilter: true, maxCount: 100}))
	got, err := newClient(t, srv, &recorder{}).FindByUserName(context.Background(), "T@x.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "target" {
		t.Errorf("users = %+v, want target only", got)
	}
	reqs := log.all()
	if len(reqs) != 2 || reqs[1].Query.Get("startIndex") != "101" || reqs[1].Query.Get("filter") != `userName eq "T@x.com"` {
		t.Errorf("requests = %+v, want 2 with the filter kept on the second", reqs)
	}
}

func TestListUsersAsksForPagesOf1000(t *testing.T) {
	srv, log := fake(t, listServer(t, numbered(2500), listOpts{}))
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2500 || got[0].ID != "u1" || got[2499].ID != "u2500" || got[1000].UserName != "user1001@example.com" {
		t.Fatalf("got %d users", len(got))
	}
	starts := map[string]bool{}
	for _, r := range log.all() {
		starts[r.Query.Get("startIndex")] = true
		if r.Query.Get("count") != "1000" || r.Query["filter"] != nil || r.EscapedPath != prefix+"/Users" {
			t.Errorf("request %s?%s", r.EscapedPath, r.RawQuery)
		}
	}
	if want := map[string]bool{"1": true, "1001": true, "2001": true}; !reflect.DeepEqual(starts, want) {
		t.Errorf("startIndex = %v, want %v", starts, want)
	}
}

func TestListUsersExactMultipleStopsWithoutExtraRequest(t *testing.T) {
	srv, log := fake(t, listServer(t, numbered(200), listOpts{maxCount: 100}))
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil || len(got) != 200 || log.n() != 2 {
		t.Errorf("ListUsers = %d users, %v after %d requests; want 200 after 2", len(got), err, log.n())
	}
}

func TestListUsersWithoutTotalResultsWalksToAnEmptyPage(t *testing.T) {
	srv, log := fake(t, listServer(t, numbered(250), listOpts{total: -1, maxCount: 100}))
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil || len(got) != 250 || got[249].ID != "u250" {
		t.Fatalf("ListUsers = %d users, %v; want u1…u250", len(got), err)
	}
	var starts []string
	for _, r := range log.all() {
		starts = append(starts, r.Query.Get("startIndex"))
	}
	if want := []string{"1", "101", "201", "251"}; !reflect.DeepEqual(starts, want) {
		t.Errorf("startIndex = %q, want %q (advance by users received, stop at an empty page)", starts, want)
	}
}

func TestListUsersFewerThanAnnouncedIsAnError(t *testing.T) {
	// totalResults says 1000 but only 100 users exist: pages 2… come back
	// empty. The listing is read again, then refused rather than returning
	// a tenth of the directory as if it were all of it.
	srv, log := fake(t, listServer(t, numbered(100), listOpts{total: 1000, maxCount: 100}))
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	requireCode(t, err, codes.Unavailable, "inconsistently twice", "returned 0 users where 100 were due (totalResults 1000)", "sync again later")
	if got != nil {
		t.Errorf("users = %d, want none", len(got))
	}
	first := 0
	for _, r := range log.all() {
		if r.Query.Get("startIndex") == "1" {
			first++
		}
	}
	if first != 2 {
		t.Errorf("the first page was fetched %d times, want 2 (one re-read)", first)
	}
}

func TestListUsersEmptyTenant(t *testing.T) {
	srv, log := fake(t, reply(200, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0}`))
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil || len(got) != 0 || log.n() != 1 {
		t.Errorf("ListUsers = %v, %v after %d requests", got, err, log.n())
	}
}

func TestListUsersServerIgnoresStartIndex(t *testing.T) {
	for _, total := range []int{0, -1} { // totalResults given, or left out
		t.Run(fmt.Sprint(total), func(t *testing.T) {
			srv, _ := fake(t, listServer(t, numbered(250), listOpts{ignoreStartIndex: true, maxCount: 100, total: total}))
			got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
			requireCode(t, err, codes.Internal, "ignores startIndex")
			if got != nil {
				t.Errorf("users = %d, want none", len(got))
			}
		})
	}
}

func TestListUsersPageCap(t *testing.T) {
	old := maxPages
	maxPages = 3
	t.Cleanup(func() { maxPages = old })
	t.Run("endless directory without totalResults", func(t *testing.T) {
		srv, log := fake(t, func(w http.ResponseWriter, r *http.Request) {
			start := r.URL.Query().Get("startIndex")
			reply(200, `{"Resources":[`+userJSON("id"+start, start+"@x.com")+`]}`)(w, r)
		})
		_, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
		requireCode(t, err, codes.Internal, "more than 3 pages")
		if log.n() != 3 {
			t.Errorf("requests = %d, want 3", log.n())
		}
	})
	t.Run("totalResults needing too many pages", func(t *testing.T) {
		srv, log := fake(t, listServer(t, numbered(40), listOpts{maxCount: 10}))
		_, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
		requireCode(t, err, codes.Internal, "announced 40 users in pages of 10", "more than 3 pages")
		if log.n() != 1 {
			t.Errorf("requests = %d, want 1", log.n())
		}
	})
}

func TestListUsersShiftedUserIsReadAgain(t *testing.T) {
	// A user created during the first listing shifts u100 onto the second
	// page (a duplicate, so someone may be missing); the second listing is whole.
	all := numbered(201)
	page := func(users []string) http.HandlerFunc {
		return reply(200, `{"totalResults":201,"Resources":[`+strings.Join(users, ",")+`]}`)
	}
	shifted := map[string]http.HandlerFunc{"1": page(all[:100]), "101": page(all[99:199]), "201": page(all[199:])}
	var listings atomic.Int32
	srv, log := fake(t, func(w http.ResponseWriter, r *http.Request) {
		start := r.URL.Query().Get("startIndex")
		if start == "1" {
			listings.Add(1) // the second listing begins after the first has ended
		}
		if listings.Load() == 1 {
			shifted[start](w, r)
			return
		}
		listServer(t, all, listOpts{maxCount: 100})(w, r)
	})
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 201 || got[99].ID != "u100" || got[100].ID != "u101" || got[200].ID != "u201" || listings.Load() != 2 {
		t.Errorf("got %d users in %d listings (%d requests), want u1…u201 once each in 2", len(got), listings.Load(), log.n())
	}
}
