package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// Listing the simulated tenant over loopback. Members 500 gives 251 SCIM users.

const simMembers = 500

// simTenant serves a simulated tenant whose SCIM pages hold at most
// maxResults users, through wrap when it is not nil.
func simTenant(t *testing.T, maxResults int, wrap func(http.Handler) http.Handler) (*simulator.Tenant, *httptest.Server) {
	t.Helper()
	tenant, err := simulator.New(simulator.Config{Members: simMembers, Seed: 3, APIKey: "crsr_test-key", SCIMToken: testToken, SCIMMaxResults: maxResults})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = tenant
	if wrap != nil {
		h = wrap(tenant)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return tenant, srv
}

// requireDirectory checks that got is the tenant's directory, in order, each user once.
func requireDirectory(t *testing.T, tenant *simulator.Tenant, got []User) {
	t.Helper()
	want := tenant.SCIMUsers()
	if len(got) != len(want) {
		t.Fatalf("listed %d users, the directory holds %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].ID != w.ID || got[i].UserName != w.UserName || got[i].Active != w.Active {
			t.Fatalf("user %d = %s %s active=%v, want %s %s active=%v", i, got[i].ID, got[i].UserName, got[i].Active, w.ID, w.UserName, w.Active)
		}
	}
}

// listStarts records the startIndex and count of every list request.
type listStarts struct {
	mu     sync.Mutex
	starts []int
	counts map[string]int
}

func (l *listStarts) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		start, _ := strconv.Atoi(q.Get("startIndex"))
		l.mu.Lock()
		l.starts = append(l.starts, start)
		if l.counts == nil {
			l.counts = map[string]int{}
		}
		l.counts[q.Get("count")]++
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (l *listStarts) n(start int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.starts {
		if s == start {
			n++
		}
	}
	return n
}

func TestListSimulatedTenantInOnePageWhenTheServerAllows(t *testing.T) {
	var log listStarts
	tenant, srv := simTenant(t, 1000, log.wrap)
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireDirectory(t, tenant, got)
	if len(log.starts) != 1 || log.counts["1000"] != 1 {
		t.Errorf("requests: startIndex %v, counts %v; want one asking for 1000", log.starts, log.counts)
	}
}

func TestListSimulatedTenantFollowsTheServerCap(t *testing.T) {
	// 251 users, 37 a page: 7 pages, the later ones asking for 37.
	var log listStarts
	tenant, srv := simTenant(t, 37, log.wrap)
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireDirectory(t, tenant, got)
	for i := range 7 {
		if n := log.n(1 + 37*i); n != 1 {
			t.Errorf("startIndex=%d requested %d times, want once", 1+37*i, n)
		}
	}
	if len(log.starts) != 7 || log.counts["1000"] != 1 || log.counts["37"] != 6 {
		t.Errorf("requests: startIndex %v, counts %v; want 7: one asking for 1000, then 37 each", log.starts, log.counts)
	}
}

// TestListSimulatedTenantBoundsConcurrency holds the later pages at the
// server until 16 of them are waiting there (list.go: enough to keep WorkOS's
// documented pace with answers of up to 160 ms): a client that sent fewer at
// once would never get them answered (the test then fails after 10 s; 4 did
// before issue 18), and one that sent more shows in the peak.
func TestListSimulatedTenantBoundsConcurrency(t *testing.T) {
	const inFlight = 16
	var (
		mu        sync.Mutex
		now, peak int
		open      = make(chan struct{})
		openOnce  sync.Once
		timedOut  bool
	)
	gate := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			now++
			peak = max(peak, now)
			if now == inFlight {
				openOnce.Do(func() { close(open) })
			}
			mu.Unlock()
			if r.URL.Query().Get("startIndex") != "1" {
				select {
				case <-open:
				case <-time.After(10 * time.Second):
					mu.Lock()
					timedOut = true
					mu.Unlock()
					openOnce.Do(func() { close(open) })
				}
			}
			next.ServeHTTP(w, r)
			mu.Lock()
			now--
			mu.Unlock()
		})
	}
	tenant, srv := simTenant(t, 10, gate) // 26 pages
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireDirectory(t, tenant, got)
	if timedOut || peak != inFlight {
		t.Errorf("at most %d list requests were in flight at once (gave up waiting: %v), want exactly %d", peak, timedOut, inFlight)
	}
}

// TestListSimulatedTenantKeepsWorkOSsPace checks that a listing starts its
// pages no faster than WorkOS's documented 100 requests a second, however
// fast the server answers: 25 later pages span at least 23 intervals at the
// server (one may be cut by the transport's jitter). Before issue 18 they
// went out as fast as 4 at a time allowed.
func TestListSimulatedTenantKeepsWorkOSsPace(t *testing.T) {
	var (
		mu       sync.Mutex
		arrivals []time.Time
	)
	tenant, srv := simTenant(t, 10, func(next http.Handler) http.Handler { // 26 pages
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("startIndex") != "1" {
				mu.Lock()
				arrivals = append(arrivals, time.Now())
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireDirectory(t, tenant, got)
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	if span, least := arrivals[len(arrivals)-1].Sub(arrivals[0]), time.Duration(len(arrivals)-2)*10*time.Millisecond; len(arrivals) != 25 || span < least {
		t.Errorf("%d later pages arrived within %v, want 25 over at least %v (100 a second)", len(arrivals), span, least)
	}
}

func TestListSimulatedTenantHonours429MidListing(t *testing.T) {
	var log listStarts
	limited := false
	var mu sync.Mutex
	tenant, srv := simTenant(t, 10, func(next http.Handler) http.Handler {
		return log.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			first := r.URL.Query().Get("startIndex") == "61" && !limited
			limited = limited || first
			mu.Unlock()
			if first {
				reply(http.StatusTooManyRequests, scimError("429", "", "Too many requests"), "Retry-After", "7")(w, r)
				return
			}
			next.ServeHTTP(w, r)
		}))
	})
	rec := &recorder{}
	got, err := newClient(t, srv, rec).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireDirectory(t, tenant, got)
	if waits := rec.Waits(); len(waits) != 1 || waits[0] != secs(7)[0] {
		t.Errorf("waits = %v, want the server's Retry-After of 7s once", waits)
	}
	if pages := (len(got) + 9) / 10; log.n(61) != 2 || len(log.starts) != pages+1 {
		t.Errorf("startIndex=61 requested %d times, %d requests in all; want 2 and %d", log.n(61), len(log.starts), pages+1)
	}
}

func TestListSimulatedTenantFailureCancelsTheOtherPages(t *testing.T) {
	// The first 16 later pages are sent at once (list.go's listInFlight):
	// fifteen wait at the server, page 41 is refused once they all wait. The
	// client must give up on the fifteen and start no more.
	var (
		log       listStarts
		mu        sync.Mutex
		waiting   int
		allWait   = make(chan struct{})
		cancelled int
	)
	_, srv := simTenant(t, 10, func(next http.Handler) http.Handler {
		return log.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Query().Get("startIndex") {
			case "11", "21", "31", "51", "61", "71", "81", "91", "101", "111", "121", "131", "141", "151", "161":
				mu.Lock()
				if waiting++; waiting == 15 {
					close(allWait)
				}
				mu.Unlock()
				select {
				case <-r.Context().Done():
					mu.Lock()
					cancelled++
					mu.Unlock()
				case <-time.After(10 * time.Second):
					next.ServeHTTP(w, r)
				}
			case "41":
				select {
				case <-allWait:
				case <-time.After(10 * time.Second):
				}
				reply(http.StatusForbidden, scimError("403", "", "Forbidden"))(w, r)
			default:
				next.ServeHTTP(w, r)
			}
		}))
	})
	_, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	requireCode(t, err, codes.PermissionDenied, "GET /Users")
	srv.Close() // waits for the handlers, so cancelled is final
	if cancelled != 15 || len(log.starts) != 17 {
		t.Errorf("%d waiting pages cancelled, %d requests (startIndex %v); want 15 cancelled and no page after the failure (17 requests)",
			cancelled, len(log.starts), log.starts)
	}
}

// shortPages drops the last user of the answer to startIndex=start, times
// times (-1: always): a server returning fewer users than it announced.
func shortPages(start string, times int) func(http.Handler) http.Handler {
	var mu sync.Mutex
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			short := r.URL.Query().Get("startIndex") == start && times != 0
			if short && times > 0 {
				times--
			}
			mu.Unlock()
			if !short {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var page map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
				panic(err)
			}
			users := page["Resources"].([]any)
			page["Resources"], page["itemsPerPage"] = users[:len(users)-1], len(users)-1
			body, _ := json.Marshal(page)
			reply(200, string(body))(w, r)
		})
	}
}

func TestListSimulatedTenantShortPageIsReadAgain(t *testing.T) {
	var log listStarts
	short := shortPages("101", 1)
	tenant, srv := simTenant(t, 50, func(next http.Handler) http.Handler { return log.wrap(short(next)) })
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requireDirectory(t, tenant, got)
	if log.n(1) != 2 {
		t.Errorf("the listing was read %d times, want 2", log.n(1))
	}
}

func TestListSimulatedTenantShortPagesEveryTimeIsAnError(t *testing.T) {
	_, srv := simTenant(t, 50, shortPages("101", -1))
	got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
	requireCode(t, err, codes.Unavailable, "inconsistently twice", "startIndex=101 returned 49 users where 50 were due (totalResults 251)")
	if got != nil {
		t.Errorf("listed %d users, want none", len(got))
	}
}

// changeDuringFirstListing runs change once, right after the server has
// answered the first page of the first listing.
func changeDuringFirstListing(change func(http.Handler)) func(http.Handler) http.Handler {
	var once sync.Once
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			if r.URL.Query().Get("startIndex") == "1" {
				once.Do(func() { change(next) })
			}
		})
	}
}

// scimDo sends one SCIM request straight to the tenant's handler.
func scimDo(t *testing.T, h http.Handler, method, path, body string) {
	req := httptest.NewRequest(method, prefix+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		t.Errorf("%s %s: HTTP %d %s", method, path, rec.Code, rec.Body)
	}
}

func TestListSimulatedTenantChangingMidListingIsReadAgain(t *testing.T) {
	cases := map[string]func(t *testing.T, tenant func() *simulator.Tenant) func(http.Handler){
		"user created": func(t *testing.T, _ func() *simulator.Tenant) func(http.Handler) {
			return func(h http.Handler) {
				scimDo(t, h, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new.hire@example.com","active":true}`)
			}
		},
		"first user deleted": func(t *testing.T, tenant func() *simulator.Tenant) func(http.Handler) {
			return func(h http.Handler) { scimDo(t, h, http.MethodDelete, "/Users/"+tenant().SCIMUsers()[0].ID, "") }
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			var log listStarts
			var (
				tenant *simulator.Tenant
				srv    *httptest.Server
			)
			mid := changeDuringFirstListing(change(t, func() *simulator.Tenant { return tenant }))
			tenant, srv = simTenant(t, 50, func(next http.Handler) http.Handler { return log.wrap(mid(next)) })
			before := len(tenant.SCIMUsers())
			got, err := newClient(t, srv, &recorder{}).ListUsers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			requireDirectory(t, tenant, got)
			if len(got) == before || log.n(1) != 2 {
				t.Errorf("listed %d users (%d before the change) in %d listings; want the changed directory, read twice", len(got), before, log.n(1))
			}
			if strings.Contains(name, "created") && got[len(got)-1].UserName != "new.hire@example.com" {
				t.Errorf("last user %q, want the new hire", got[len(got)-1].UserName)
			}
		})
	}
}
