package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// holdUntil serves tenant, holding every request held picks until a request
// release picks has arrived, or 10 s have passed (then overlapped says no).
type holdUntil struct {
	held, release func(*http.Request) bool

	mu         sync.Mutex
	seen       []string // requests in the order they arrived
	released   chan struct{}
	once       sync.Once
	heldTimes  int
	overlapped bool
}

func (h *holdUntil) serve(tenant http.Handler) http.Handler {
	h.released = make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.mu.Lock()
		h.seen = append(h.seen, r.Method+" "+r.URL.Path+" "+string(body))
		h.mu.Unlock()
		if h.release(r) {
			h.once.Do(func() { close(h.released) })
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if h.held(r) {
			select {
			case <-h.released:
				h.mu.Lock()
				h.overlapped = true
				h.mu.Unlock()
			case <-time.After(10 * time.Second):
			}
			h.mu.Lock()
			h.heldTimes++
			h.mu.Unlock()
		}
		tenant.ServeHTTP(w, r)
	})
}

func isActivity(r *http.Request) bool {
	return r.URL.Path == "/teams/audit-logs" || r.URL.Path == "/teams/daily-usage-data" || r.URL.Path == "/teams/spend"
}

// syncThrough configures a Server as the host does (the first sync call reads
// the roster), against tenant served through h, with SCIM, and makes that call.
func syncThrough(t *testing.T, members int, h *holdUntil) *Server {
	t.Helper()
	tenant, err := simulator.New(simulator.Config{Members: members, Seed: 3, APIKey: testKey, SCIMToken: "scim-token"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.serve(tenant))
	t.Cleanup(srv.Close)
	s := New("test", hclog.NewNullLogger())
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: testKey, BaseUrl: srv.URL,
		ScimUrl: srv.URL + "/scim/v2", ScimToken: "scim-token", DeferKeyCheck: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// requireActivity checks every active member got usage and logins, and spend.
func requireActivity(t *testing.T, s *Server) {
	t.Helper()
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

// TestEnrichmentStartsWhileTheRosterDownloads holds the roster's answer at
// the server until an activity request has arrived: enrichment that waited
// for the roster (as before issue 18) sends none in time, so the roster is
// answered after 10 s with no activity request seen.
func TestEnrichmentStartsWhileTheRosterDownloads(t *testing.T) {
	h := &holdUntil{held: func(r *http.Request) bool { return r.URL.Path == "/teams/members" }, release: isActivity}
	s := syncThrough(t, 300, h)
	if !h.overlapped || h.heldTimes != 1 {
		t.Errorf("no activity request arrived while the roster was being answered (%d roster requests); requests in order: %v", h.heldTimes, h.seen)
	}
	requireActivity(t, s)
}

// TestEnrichmentAfterTheRosterDoesNotWaitForTheSCIMListing holds the SCIM
// listing until spend's second page is asked for (1,500 members: two pages
// of 1,000), which needs the roster but not the SCIM directory. Before issue
// 18 it waited for the listing too.
func TestEnrichmentAfterTheRosterDoesNotWaitForTheSCIMListing(t *testing.T) {
	h := &holdUntil{
		held: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/scim/v2/Users") },
		release: func(r *http.Request) bool {
			var q struct{ Page int }
			return r.URL.Path == "/teams/spend" && json.NewDecoder(r.Body).Decode(&q) == nil && q.Page > 1
		},
	}
	s := syncThrough(t, 1500, h)
	if !h.overlapped {
		t.Errorf("spend's second page was not asked for while the SCIM listing was held; requests in order: %v", h.seen)
	}
	requireActivity(t, s)
}

// largeTeam is a team of more than usageMaxMembers whose roster is held until
// one of spend's later pages is asked for, or 10 s have passed.
type largeTeam struct {
	laterPage chan struct{} // closed by the first request for spend's page 2 or later
	once      sync.Once

	mu         sync.Mutex
	spendPages map[int]int // page -> times asked
	auditPages int
	overlapped bool // the roster was answered after a later spend page was asked for
}

func (b *largeTeam) ListMembers(context.Context) ([]cursorapi.Member, error) {
	select {
	case <-b.laterPage:
		b.mu.Lock()
		b.overlapped = true
		b.mu.Unlock()
	case <-time.After(10 * time.Second):
	}
	return []cursorapi.Member{member("a@x.test", "owner", false)}, nil
}

func (b *largeTeam) RemoveMember(context.Context, string) (cursorapi.RemoveResult, error) {
	return cursorapi.RemoveResult{}, nil
}

func (b *largeTeam) AuditLogs(context.Context, cursorapi.AuditQuery) (cursorapi.AuditPage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.auditPages++
	return cursorapi.AuditPage{}, nil
}

var _ activityAPI = (*largeTeam)(nil)

func (b *largeTeam) ActiveDays(context.Context, time.Time, time.Time, func(cursorapi.UsageDay) error) error {
	return errors.New("daily usage asked for a team of 100,000")
}

func (b *largeTeam) SpendByAmount(_ context.Context, page, _ int) (cursorapi.SpendPage, error) {
	b.mu.Lock()
	b.spendPages[page]++
	b.mu.Unlock()
	if page > 1 {
		b.once.Do(func() { close(b.laterPage) })
	}
	return cursorapi.SpendPage{Rows: []cursorapi.Spend{{Email: fmt.Sprintf("s%d@x.test", page), SpendCents: 1}},
		TotalPages: 100, TotalMember: 100000}, nil
}

// For a team of more than usageMaxMembers no member's logins are read on
// their own (usage is not read), so spend's first page is enough to spend
// the rest of the budget: its later pages go while the roster downloads,
// not after it (a second wait, and at 100,000 members the last part of
// enrichment to finish). The budget still holds, the newest login pages kept
// out of spend's share.
func TestSpendOfALargeTeamIsReadWhileTheRosterDownloads(t *testing.T) {
	b := &largeTeam{laterPage: make(chan struct{}), spendPages: map[int]int{}}
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return b, nil }
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k", DeferKeyCheck: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.overlapped {
		t.Errorf("no later spend page was asked for while the roster was held (pages asked: %v)", b.spendPages)
	}
	wantPages := enrichBudget - loginPagesMax // page 1 included; usage is not asked
	for page := 1; page <= 100; page++ {
		if want := min(1, max(wantPages-page+1, 0)); b.spendPages[page] != want {
			t.Errorf("spend page %d asked %d times, want %d (pages asked: %v)", page, b.spendPages[page], want, b.spendPages)
		}
	}
	if n := len(b.spendPages) + b.auditPages; n > enrichBudget {
		t.Errorf("%d requests, more than the budget of %d", n, enrichBudget)
	}
}
