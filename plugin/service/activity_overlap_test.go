package service

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
