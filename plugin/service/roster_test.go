package service

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/scim"
)

// Before and after a roster change: by the second fetch b (before the cursor)
// and d (after it) joined, c left, and the owner count went from 1 to 2.
var (
	rosterBefore = []cursorapi.Member{member("a@x.test", "owner", false), member("c@x.test", "member", false), member("e@x.test", "member", false)}
	rosterAfter  = []cursorapi.Member{member("a@x.test", "owner", false), member("b@x.test", "owner", false),
		member("d@x.test", "member", false), member("e@x.test", "member", false)}
)

func ownerCount(t *testing.T, s *Server, syncID string) uint32 {
	t.Helper()
	resp, err := s.ListRoles(context.Background(), &pluginv1.ListRolesRequest{SyncId: syncID})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetRoles()[0].GetActiveMembers()
}

// A sync that names itself gets every page and the role counts from the
// snapshot its first call got, even when the cache expires in the middle.
func TestPinnedSyncIsServedFromOneSnapshot(t *testing.T) {
	s, f, now := newFake(t, rosterBefore, rosterAfter)
	ctx := context.Background()
	page, err := s.ListMembers(ctx, &pluginv1.ListMembersRequest{PageSize: 2, SyncId: "sync-1"})
	if err != nil {
		t.Fatal(err)
	}
	*now = now.Add(rosterMaxAge + time.Minute) // the cache is stale: a new sync would fetch again
	// The role's grants, listed first from scratch then page by page.
	rest := listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 2, SyncId: "sync-1", PageToken: page.GetNextPageToken()})
	if got, want := append(keys(page.GetMembers()), keys(rest)...), []string{"a@x.test", "c@x.test", "e@x.test"}; !slices.Equal(got, want) {
		t.Errorf("keys of the pinned sync = %v, want %v (the first snapshot only)", got, want)
	}
	if n := ownerCount(t, s, "sync-1"); n != 1 {
		t.Errorf("owners in the pinned sync: %d, want 1 (the first snapshot)", n)
	}
	if f.calls != 1 {
		t.Errorf("%d fetches during the pinned sync, want 1", f.calls)
	}

	// The next sync sees the new roster; the pinned one still sees the old.
	if n := ownerCount(t, s, "sync-2"); n != 2 || f.calls != 2 {
		t.Errorf("the next sync: %d owners after %d fetches, want 2 and 2", n, f.calls)
	}
	if n := ownerCount(t, s, "sync-1"); n != 1 {
		t.Errorf("owners in the first sync after another began: %d, want 1", n)
	}
}

// Pins are bounded: idle ones and, beyond maxPins, the least recently used
// are dropped, and their syncs continue from the newest snapshot.
func TestPinsAreBounded(t *testing.T) {
	s, f, now := newFake(t, rosterBefore, rosterAfter)
	if n := ownerCount(t, s, "old"); n != 1 {
		t.Fatalf("owners: %d", n)
	}
	*now = now.Add(pinIdleTTL) // "old" paused too long
	if n := ownerCount(t, s, "old"); n != 2 || f.calls != 2 {
		t.Errorf("a sync idle past the pin's lifetime: %d owners after %d fetches, want the new roster (2, 2)", n, f.calls)
	}
	for i := range maxPins + 1 {
		ownerCount(t, s, string(rune('a'+i)))
		*now = now.Add(time.Second)
	}
	s.mu.Lock()
	pins := len(s.roster.pins)
	s.mu.Unlock()
	if pins != maxPins {
		t.Errorf("%d pins held, want at most %d", pins, maxPins)
	}
}

// A token whose snapshot is gone (the plugin restarted, here a second
// Server) continues after its key in the newest snapshot: nothing repeats,
// nothing after the cursor is skipped, and it is not an error, so a resumed
// baton sync can finish.
func TestTokenOfAGoneSnapshotContinuesByKey(t *testing.T) {
	first, _, _ := newFake(t, rosterBefore)
	page, err := first.ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageSize: 2, SyncId: "s"})
	if err != nil {
		t.Fatal(err)
	}
	restarted, _, _ := newFake(t, rosterAfter)
	rest := listAll(t, restarted, &pluginv1.ListMembersRequest{PageSize: 2, SyncId: "s", PageToken: page.GetNextPageToken()})
	if got, want := append(keys(page.GetMembers()), keys(rest)...), []string{"a@x.test", "c@x.test", "d@x.test", "e@x.test"}; !slices.Equal(got, want) {
		t.Errorf("keys across the restart = %v, want %v", got, want)
	}
	// A token of no released format (k1 was never issued) is refused.
	if _, err := restarted.ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageToken: "k1.Y0B4LnRlc3Q"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("k1 token: %v, want InvalidArgument", err)
	}
}

// gatedAdmin answers ListMembers only when released, and counts fetches and
// cancellations; safe for concurrent use.
type gatedAdmin struct {
	release  chan struct{}
	mu       sync.Mutex
	fetches  int
	canceled int
}

func (a *gatedAdmin) ListMembers(ctx context.Context) ([]cursorapi.Member, error) {
	a.mu.Lock()
	a.fetches++
	a.mu.Unlock()
	select {
	case <-a.release:
		return slices.Clone(rosterBefore), nil
	case <-ctx.Done():
		a.mu.Lock()
		a.canceled++
		a.mu.Unlock()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (a *gatedAdmin) RemoveMember(context.Context, string) (cursorapi.RemoveResult, error) {
	return cursorapi.RemoveResult{}, errors.New("not scripted")
}

func (a *gatedAdmin) counts() (fetches, canceled int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fetches, a.canceled
}

// A roster fetch that Cursor holds up (429s and their waits) blocks neither
// calls that need no roster nor callers who give up; concurrent callers share
// it; when the last one leaves, the fetch is cancelled.
func TestRosterFetchHoldsNoLock(t *testing.T) {
	admin := &gatedAdmin{release: make(chan struct{})}
	dir := &fakeDirectory{users: []scim.User{{ID: "u1", UserName: "p@x.test", Active: true}}}
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return admin, nil }
	s.newSCIM = func(scim.Config) (directory, error) { return dir, nil }
	bg := context.Background()

	if _, err := s.Configure(bg, &pluginv1.ConfigureRequest{ApiKey: "k", ScimUrl: "https://scim.example/scim/v2", ScimToken: "t", DeferKeyCheck: true}); err != nil {
		t.Fatal(err)
	}
	// The sync's first call fetches the roster, which hangs; its caller gives up.
	cctx, cancelFirst := context.WithCancel(bg)
	first := make(chan error, 1)
	go func() {
		_, err := s.GetInfo(cctx, &pluginv1.GetInfoRequest{})
		first <- err
	}()
	waitFor(t, "the first fetch", func() bool { n, _ := admin.counts(); return n == 1 })

	// Two readers join the same fetch.
	type result struct {
		resp *pluginv1.ListRolesResponse
		err  error
	}
	readers := make(chan result, 2)
	for range 2 {
		go func() {
			resp, err := s.ListRoles(bg, &pluginv1.ListRolesRequest{})
			readers <- result{resp, err}
		}()
	}
	waitFor(t, "the readers to join the fetch", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.fetching != nil && s.fetching.waiters == 3
	})
	// A SCIM lookup needs no roster and answers at once.
	resp, err := s.Provision(bg, &pluginv1.ProvisionRequest{Email: "p@x.test"})
	if err != nil || resp.GetOutcome() != pluginv1.ProvisionResponse_OUTCOME_ALREADY_EXISTS {
		t.Fatalf("Provision during a fetch: %v, %v", resp, err)
	}
	// A reader whose context ends returns at once.
	short, cancelShort := context.WithCancel(bg)
	cancelShort()
	if _, err := s.ListMembers(short, &pluginv1.ListMembersRequest{}); status.Code(err) != codes.Canceled {
		t.Errorf("a cancelled reader during a fetch: %v, want Canceled", err)
	}
	cancelFirst()
	if err := <-first; status.Code(err) != codes.Canceled {
		t.Errorf("GetInfo whose caller gave up: %v, want Canceled", err)
	}
	close(admin.release)
	for range 2 {
		r := <-readers
		if r.err != nil || len(r.resp.GetRoles()) == 0 {
			t.Errorf("a reader sharing the fetch: %v, %v", r.resp, r.err)
		}
	}
	if fetches, canceled := admin.counts(); fetches != 1 || canceled != 0 {
		t.Errorf("%d fetches, %d cancelled; want 1 shared by every caller, not cancelled while one still waits", fetches, canceled)
	}
	if !s.Serving() {
		t.Error("Serving() is false after a roster was fetched")
	}
}

// When every caller gives up, the fetch stops (its retries would otherwise
// go on spending Cursor's 20-a-minute budget for nobody).
func TestFetchCancelledWhenEveryCallerLeaves(t *testing.T) {
	admin := &gatedAdmin{release: make(chan struct{})}
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return admin, nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Configure(ctx, &pluginv1.ConfigureRequest{ApiKey: "k"})
		done <- err
	}()
	waitFor(t, "the fetch", func() bool { n, _ := admin.counts(); return n == 1 })
	cancel()
	<-done
	waitFor(t, "the fetch to be cancelled", func() bool { _, c := admin.counts(); return c == 1 })
	if s.Serving() {
		t.Error("Serving() is true though no roster was ever fetched")
	}
}

// Serving follows Cursor's verdict on the key: false before any roster,
// true once one was fetched, false while Cursor rejects the key.
func TestServingFollowsTheKey(t *testing.T) {
	admin := &scriptedAdmin{errs: []error{nil, status.Error(codes.Unauthenticated, "Cursor rejected the API key"), nil}}
	s := New("test", hclog.NewNullLogger())
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return admin, nil }
	if s.Serving() {
		t.Error("serving before Configure")
	}
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k"}); err != nil || !s.Serving() {
		t.Fatalf("after a good fetch: %v, serving %v", err, s.Serving())
	}
	now = now.Add(rosterMaxAge)
	if _, err := s.ListRoles(context.Background(), &pluginv1.ListRolesRequest{}); status.Code(err) != codes.Unauthenticated || s.Serving() {
		t.Errorf("after the key was rejected: %v, serving %v; want Unauthenticated and not serving", err, s.Serving())
	}
	if _, err := s.ListRoles(context.Background(), &pluginv1.ListRolesRequest{}); err != nil || !s.Serving() {
		t.Errorf("after the key works again: %v, serving %v", err, s.Serving())
	}
}

// scriptedAdmin answers each fetch with the next scripted error (nil: a roster).
type scriptedAdmin struct {
	errs  []error
	calls int
}

func (a *scriptedAdmin) ListMembers(context.Context) ([]cursorapi.Member, error) {
	err := a.errs[min(a.calls, len(a.errs)-1)]
	a.calls++
	if err != nil {
		return nil, err
	}
	return slices.Clone(rosterBefore), nil
}

func (a *scriptedAdmin) RemoveMember(context.Context, string) (cursorapi.RemoveResult, error) {
	return cursorapi.RemoveResult{}, errors.New("not scripted")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
