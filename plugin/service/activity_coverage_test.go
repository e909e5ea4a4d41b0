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

// coverageTeam is a team whose newest login pages never reach the window's
// start; members m0..m<used-1> have a usage day, and the first member of
// each users-filtered query logged in an hour after the window's start.
type coverageTeam struct {
	bigTeam
	used     int
	filtered [][]string // the users filter of each filtered query
	fmu      sync.Mutex
}

func (c *coverageTeam) AuditLogs(ctx context.Context, q cursorapi.AuditQuery) (cursorapi.AuditPage, error) {
	if len(q.Users) == 0 {
		return c.bigTeam.AuditLogs(ctx, q)
	}
	c.fmu.Lock()
	defer c.fmu.Unlock()
	c.filtered = append(c.filtered, q.Users)
	return cursorapi.AuditPage{Events: []cursorapi.AuditEvent{{ID: "evt_f", Timestamp: q.Start.Add(time.Hour), UserEmail: q.Users[0], Type: "login"}}}, nil
}

var _ activityAPI = (*coverageTeam)(nil)

func (c *coverageTeam) ActiveDays(_ context.Context, start, _ time.Time, each func(cursorapi.UsageDay) error) error {
	for i := range c.used {
		if err := each(cursorapi.UsageDay{Email: fmt.Sprintf("m%d@x.example", i), Day: start.Add(48 * time.Hour).Format(time.DateOnly)}); err != nil {
			return err
		}
	}
	return nil
}

// configureCoverage configures a Server over a team of members and answers
// the sync's first call (GetInfo), which reads member activity.
func configureCoverage(t *testing.T, members, used int) (*Server, *coverageTeam, *pluginv1.GetInfoResponse) {
	t.Helper()
	roster := make([]cursorapi.Member, members)
	for i := range roster {
		roster[i] = member(fmt.Sprintf("m%d@x.example", i), "member", false)
	}
	f := &coverageTeam{bigTeam: bigTeam{fakeLister: fakeLister{rosters: [][]cursorapi.Member{roster}}}, used: used}
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return f, nil }
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k"}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return s, f, resp
}

// Members the newest pages say nothing of get their own query, batched by
// Cursor's users limit, before spend's later pages; each then says how far
// its logins were read.
func TestMembersWithoutActivityGetTheirOwnLoginQuery(t *testing.T) {
	s, f, _ := configureCoverage(t, 3000, 1500)
	if len(f.filtered) != 3 {
		t.Fatalf("%d users-filtered queries for 1,500 members, want 3 of 500", len(f.filtered))
	}
	if f.spends != 3 {
		t.Errorf("%d spend pages, want all 3 (the budget has room)", f.spends)
	}
	asked := map[string]bool{}
	for _, b := range f.filtered {
		for _, u := range b {
			asked[u] = true
		}
	}
	logged := 0
	for _, m := range listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 10000}) {
		a := m.GetActivity()
		if a.GetActiveDays() > 0 {
			if asked[m.GetEmail()] {
				t.Errorf("%s has a usage day but was asked for", m.GetKey())
			}
			continue
		}
		if !asked[m.GetEmail()] {
			t.Errorf("%s: no usage, no login, and not asked for", m.GetKey())
		}
		if !a.GetLoginsReadSince().AsTime().Equal(a.GetWindowStart().AsTime()) {
			t.Errorf("%s: logins read since %v, want the window start %v", m.GetKey(), a.GetLoginsReadSince().AsTime(), a.GetWindowStart().AsTime())
		}
		if a.GetLastLogin() != nil {
			logged++
		}
	}
	if logged != 3 {
		t.Errorf("%d members show the login their query found, want 3", logged)
	}
}

func TestMembersLeftOutByTheBudgetSayHowFarTheirLoginsWereRead(t *testing.T) {
	// 6,500 members with no usage, m0 the only one in the newest login pages:
	// 13 queries of up to 500, 12 left after usage, four login pages and
	// spend's first page.
	s, f, resp := configureCoverage(t, 6500, 0)
	if total := f.audit + f.usage + f.spends + len(f.filtered); total > enrichBudget {
		t.Errorf("%d requests, budget %d", total, enrichBudget)
	}
	if len(f.filtered) != 12 || f.spends != 1 {
		t.Errorf("%d users-filtered queries and %d spend pages, want 12 and 1 (members' activity before spend)", len(f.filtered), f.spends)
	}
	short := 0
	for _, m := range listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 10000}) {
		a := m.GetActivity()
		if a.GetLastLogin() == nil && a.GetLoginsReadSince().AsTime().After(a.GetWindowStart().AsTime()) {
			short++
		}
	}
	if short != 499 {
		t.Errorf("%d members' logins not read back to the window start, want 499 (the last batch)", short)
	}
	var warning string
	for _, d := range resp.GetDiagnostics() {
		if d.GetSeverity() == pluginv1.Diagnostic_SEVERITY_WARNING {
			warning = d.GetSummary()
		}
	}
	for _, want := range []string{"499 of the 6499 members", "logins_read_since", "budget of 18"} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning %q does not say %q", warning, want)
		}
	}
}
