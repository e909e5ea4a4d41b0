package service

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

// gatedTeam holds the roster and spend's first page until gate is closed,
// and says when daily usage was asked; with slowUsage its answer never
// comes before the caller gives up.
type gatedTeam struct {
	roster     []cursorapi.Member
	teamSize   int // spend's totalMembers
	slowUsage  bool
	usageRows  int // > 0: usage lists this many distinct members
	handed     int // usage rows the reader took
	mu         sync.Mutex
	gate       chan struct{}
	usageAsked chan struct{} // closed by the first usage request after arm
}

func (g *gatedTeam) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.usageAsked = make(chan struct{}), make(chan struct{})
}

func (g *gatedTeam) wait(ctx context.Context) error {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gatedTeam) ListMembers(ctx context.Context) ([]cursorapi.Member, error) {
	return g.roster, g.wait(ctx)
}

func (g *gatedTeam) RemoveMember(context.Context, string) (cursorapi.RemoveResult, error) {
	return cursorapi.RemoveResult{}, nil
}

func (g *gatedTeam) AuditLogs(context.Context, cursorapi.AuditQuery) (cursorapi.AuditPage, error) {
	return cursorapi.AuditPage{}, nil
}

var _ activityAPI = (*gatedTeam)(nil)

func (g *gatedTeam) ActiveDays(ctx context.Context, _, _ time.Time, each func(cursorapi.UsageDay) error) error {
	g.mu.Lock()
	if g.usageAsked != nil {
		close(g.usageAsked)
		g.usageAsked = nil
	}
	g.mu.Unlock()
	if g.slowUsage {
		<-ctx.Done()
		return ctx.Err()
	}
	for i := range g.usageRows {
		g.handed++
		if err := each(cursorapi.UsageDay{Email: fmt.Sprintf("u%d@x.test", i), Day: "2026-11-26"}); err != nil {
			return err
		}
	}
	return each(cursorapi.UsageDay{Email: g.roster[0].Email, Day: "2026-11-26"})
}

func (g *gatedTeam) SpendByAmount(ctx context.Context, page, _ int) (cursorapi.SpendPage, error) {
	if page == 1 {
		if err := g.wait(ctx); err != nil {
			return cursorapi.SpendPage{}, err
		}
	}
	return cursorapi.SpendPage{TotalPages: 1, TotalMember: g.teamSize}, nil
}

// newGated configures a plugin on g; later moves its clock on.
func newGated(t *testing.T, g *gatedTeam) (s *Server, later func(time.Duration)) {
	t.Helper()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	s = New("test", hclog.NewNullLogger())
	s.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return g, nil }
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k", DeferKeyCheck: true}); err != nil {
		t.Fatal(err)
	}
	return s, func(d time.Duration) { clock.Lock(); defer clock.Unlock(); now = now.Add(d) }
}

// syncInfo runs GetInfo (a sync's first call, which reads the roster and
// enriches) until it answers.
func syncInfo(s *Server) <-chan *pluginv1.GetInfoResponse {
	out := make(chan *pluginv1.GetInfoResponse, 1)
	go func() {
		resp, _ := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
		out <- resp
	}()
	return out
}

// A service's first sync asks daily usage only once it knows the team is
// small enough; from its second sync on, the last roster's size lets usage go
// out beside the roster, so a sync waits for one answer less.
func TestUsageGoesOutWithTheRosterOnceTheTeamsSizeIsKnown(t *testing.T) {
	g := &gatedTeam{roster: []cursorapi.Member{member("a@x.test", "owner", false)}, teamSize: 1}
	s, later := newGated(t, g)

	g.arm()
	first := syncInfo(s)
	select {
	case <-g.usageAsked:
		t.Fatal("first sync: daily usage was asked before the roster or spend said how large the team is")
	case <-time.After(100 * time.Millisecond):
	}
	close(g.gate)
	if resp := <-first; resp == nil {
		t.Fatal("first sync failed")
	}

	later(rosterMaxAge + time.Minute) // the next sync reads Cursor again
	g.arm()
	asked := g.usageAsked
	second := syncInfo(s)
	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("second sync: daily usage was not asked while the roster and spend's first page were outstanding")
	}
	close(g.gate)
	if resp := <-second; resp == nil {
		t.Fatal("second sync failed")
	}
	m := listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 10})
	if a := m[0].GetActivity(); !a.GetUsageKnown() || a.GetActiveDays() != 1 {
		t.Errorf("second sync: usage_known %v, active_days %d; want true, 1", a.GetUsageKnown(), a.GetActiveDays())
	}
}

// afterASmallSync configures a plugin on a one-member team and syncs it once;
// the next sync reads Cursor again, with usage asked at once (the last roster
// was small). g is armed and gated.
func afterASmallSync(t *testing.T) (*gatedTeam, *Server) {
	t.Helper()
	g := &gatedTeam{roster: []cursorapi.Member{member("a@x.test", "owner", false)}, teamSize: 1}
	s, later := newGated(t, g)
	g.arm()
	close(g.gate)
	<-syncInfo(s)
	later(rosterMaxAge + time.Minute)
	g.arm()
	return g, s
}

func lastWarning(resp *pluginv1.GetInfoResponse) string {
	var warning string
	for _, d := range resp.GetDiagnostics() {
		if d.GetSeverity() == pluginv1.Diagnostic_SEVERITY_WARNING {
			warning = d.GetSummary()
		}
	}
	return warning
}

// A team that was small at the last sync but has grown past usageMaxMembers:
// the usage request sent at once is abandoned when spend says so, and the
// warning says why, not "context canceled".
func TestUsageSentEarlyIsAbandonedWhenTheTeamHasGrownTooLarge(t *testing.T) {
	g, s := afterASmallSync(t)
	asked := g.usageAsked
	grown := []cursorapi.Member{g.roster[0]}
	for i := range usageMaxMembers {
		grown = append(grown, member(fmt.Sprintf("m%d@x.test", i), "member", false))
	}
	g.roster, g.teamSize, g.slowUsage = grown, len(grown), true
	close(g.gate)
	done := syncInfo(s)
	var resp *pluginv1.GetInfoResponse
	select {
	case resp = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the sync waited for a usage answer it no longer wants")
	}
	select {
	case <-asked:
	default:
		t.Fatal("daily usage was not sent with the roster (the last roster was small), so nothing was abandoned")
	}
	warning := lastWarning(resp)
	if !strings.Contains(warning, "50001 active members") || strings.Contains(warning, "cancel") {
		t.Errorf("warning %q: want the team's size as the reason, not a cancellation", warning)
	}
	if a := listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 10})[0].GetActivity(); a.GetUsageKnown() {
		t.Error("usage_known true for a usage read that was abandoned")
	}
}

// A usage answer listing more than usageMaxMembers members is read no
// further, whatever the team's size was thought to be: the plugin holds at
// most that many members' usage, and says why it has none.
func TestUsageAnswerOfTooManyMembersIsReadNoFurther(t *testing.T) {
	g, s := afterASmallSync(t)
	g.usageRows = usageMaxMembers + 100
	close(g.gate)
	resp := <-syncInfo(s)
	if g.handed != usageMaxMembers+1 {
		t.Errorf("%d usage rows read; want %d (the one past the limit ends the read)", g.handed, usageMaxMembers+1)
	}
	warning := lastWarning(resp)
	if !strings.Contains(warning, "more than 50000 active members") {
		t.Errorf("warning %q: want the usage answer's size as the reason", warning)
	}
	if a := listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 10})[0].GetActivity(); a.GetUsageKnown() {
		t.Error("usage_known true for a usage read that was cut off")
	}
}
