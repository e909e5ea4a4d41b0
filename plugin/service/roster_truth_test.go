package service

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

// stallingActivity serves the roster at once; its daily usage hangs until the
// caller gives up while stall is set. Safe for concurrent use.
type stallingActivity struct {
	mu      sync.Mutex
	stall   bool
	stalled chan struct{} // closed when a usage request hangs
	fetches int
}

func (a *stallingActivity) ListMembers(context.Context) ([]cursorapi.Member, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fetches++
	return slices.Clone(rosterBefore), nil
}

func (a *stallingActivity) RemoveMember(context.Context, string) (cursorapi.RemoveResult, error) {
	return cursorapi.RemoveResult{}, nil
}

var _ activityAPI = (*stallingActivity)(nil)

func (a *stallingActivity) ActiveDays(ctx context.Context, _, _ time.Time, _ func(cursorapi.UsageDay) error) error {
	a.mu.Lock()
	stall := a.stall
	a.mu.Unlock()
	if stall {
		close(a.stalled)
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	return nil
}

func (a *stallingActivity) AuditLogs(context.Context, cursorapi.AuditQuery) (cursorapi.AuditPage, error) {
	return cursorapi.AuditPage{}, nil
}

func (a *stallingActivity) SpendByAmount(context.Context, int, int) (cursorapi.SpendPage, error) {
	return cursorapi.SpendPage{}, nil
}

func (a *stallingActivity) fetchCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fetches
}

// A fetch whose every caller left during enrichment is not kept: its
// *_unknown fields would say "cancelled" as if Cursor had not answered, for
// up to rosterMaxAge. The next call asks Cursor again.
func TestFetchCancelledDuringEnrichmentIsNotKept(t *testing.T) {
	api := &stallingActivity{stall: true, stalled: make(chan struct{})}
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return api, nil }
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { // the sync's first call enriches
		_, err := s.ListRoles(ctx, &pluginv1.ListRolesRequest{})
		done <- err
	}()
	<-api.stalled
	s.mu.Lock()
	f := s.fetching
	s.mu.Unlock()
	cancel()
	if err := <-done; status.Code(err) != codes.Canceled {
		t.Fatalf("ListRoles whose caller left: %v, want Canceled", err)
	}
	<-f.done // the cancelled fetch has landed
	api.mu.Lock()
	api.stall = false
	api.mu.Unlock()

	resp, err := s.ListMembers(context.Background(), &pluginv1.ListMembersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range resp.GetMembers() {
		if !m.GetActivity().GetUsageKnown() {
			t.Errorf("%s: usage unknown after a complete fetch (served the cancelled one)", m.GetKey())
		}
	}
}

// heldRosters answers each fetch with the next roster; a fetch whose gate is
// set waits for it. Safe for concurrent use.
type heldRosters struct {
	mu      sync.Mutex
	rosters [][]cursorapi.Member
	gates   map[int]chan struct{} // by fetch number, from 1
	fetches int
}

func (a *heldRosters) ListMembers(ctx context.Context) ([]cursorapi.Member, error) {
	a.mu.Lock()
	a.fetches++
	n := a.fetches
	roster, gate := a.rosters[min(n, len(a.rosters))-1], a.gates[n]
	a.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return slices.Clone(roster), nil
}

func (a *heldRosters) RemoveMember(context.Context, string) (cursorapi.RemoveResult, error) {
	return cursorapi.RemoveResult{}, nil
}

func (a *heldRosters) fetchCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fetches
}

func removedOf(t *testing.T, ms []*pluginv1.Member, key string) bool {
	t.Helper()
	for _, m := range ms {
		if m.GetKey() == key {
			return m.GetRemoved()
		}
	}
	t.Fatalf("%s not listed", key)
	return false
}

// A fetch begun before a write (Cursor answered it before the write) lands
// after it: it may show the removed person active. Callers who came after the
// write never join it, and it never becomes the current snapshot.
func TestAFetchBegunBeforeAWriteIsNotServedAfterIt(t *testing.T) {
	active := []cursorapi.Member{member("a@x.test", "owner", false), member("gone@x.test", "member", false)}
	removed := []cursorapi.Member{member("a@x.test", "owner", false), member("gone@x.test", "member", true)}
	held := make(chan struct{})
	api := &heldRosters{rosters: [][]cursorapi.Member{active, active, removed}, gates: map[int]chan struct{}{2: held}}
	s := New("test", hclog.NewNullLogger())
	var clock sync.Mutex
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return api, nil }
	bg := context.Background()
	if _, err := s.Configure(bg, &pluginv1.ConfigureRequest{ApiKey: "k"}); err != nil {
		t.Fatal(err)
	}
	clock.Lock()
	now = now.Add(teamReadMaxAge) // Configure's roster read is too old to reuse
	clock.Unlock()
	s.forgetRoster() // an earlier write: the next read fetches

	before := make(chan *pluginv1.ListMembersResponse, 1)
	go func() {
		resp, err := s.ListMembers(bg, &pluginv1.ListMembersRequest{IncludeRemoved: true})
		if err != nil {
			t.Error(err)
		}
		before <- resp
	}()
	waitFor(t, "the second fetch", func() bool { return api.fetchCount() == 2 })
	s.forgetRoster() // the write (Deprovision of gone@x.test) while fetch 2 is in flight

	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	after, err := s.ListMembers(ctx, &pluginv1.ListMembersRequest{IncludeRemoved: true})
	if err != nil {
		close(held)
		t.Fatalf("a read after the write: %v (it joined the fetch begun before the write)", err)
	}
	if !removedOf(t, after.GetMembers(), "gone@x.test") || api.fetchCount() != 3 {
		t.Errorf("a read after the write: removed %v after %d fetches; want removed, from a third fetch of its own",
			removedOf(t, after.GetMembers(), "gone@x.test"), api.fetchCount())
	}
	close(held) // fetch 2 lands now, after the write
	if resp := <-before; removedOf(t, resp.GetMembers(), "gone@x.test") {
		t.Error("the caller that came before the write got a roster it could not have been served")
	}
	later, err := s.ListMembers(bg, &pluginv1.ListMembersRequest{IncludeRemoved: true})
	if err != nil {
		t.Fatal(err)
	}
	if !removedOf(t, later.GetMembers(), "gone@x.test") || api.fetchCount() != 3 {
		t.Errorf("after the stale fetch landed: removed %v after %d fetches; want removed, served from fetch 3",
			removedOf(t, later.GetMembers(), "gone@x.test"), api.fetchCount())
	}
}
