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

// bigTeam is a roster of n members whose activity routes always have more:
// the audit log another page, spend 1,000 members a page.
type bigTeam struct {
	fakeLister
	mu                   sync.Mutex
	audit, usage, spends int
}

func (b *bigTeam) AuditLogs(_ context.Context, q cursorapi.AuditQuery) (cursorapi.AuditPage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.audit++
	at := q.End.Add(-time.Duration(q.Page) * time.Hour)
	return cursorapi.AuditPage{HasNextPage: true, Events: []cursorapi.AuditEvent{{ID: fmt.Sprint("evt_", q.Page), Timestamp: at, UserEmail: "m0@x.example", Type: "login"}}}, nil
}

var _ activityAPI = (*bigTeam)(nil)

func (b *bigTeam) ActiveDays(context.Context, time.Time, time.Time, func(cursorapi.UsageDay) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.usage++
	return nil
}

func (b *bigTeam) SpendByAmount(_ context.Context, page, size int) (cursorapi.SpendPage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spends++
	n := len(b.rosters[0])
	p := cursorapi.SpendPage{TotalPages: (n + size - 1) / size}
	for i := (page - 1) * size; i < min(page*size, n); i++ {
		p.Rows = append(p.Rows, cursorapi.Spend{Email: b.rosters[0][i].Email, SpendCents: float64(n - i)})
	}
	return p, nil
}

func TestEnrichmentOfA100kTeamStaysInItsBudgetAndSaysWhatIsMissing(t *testing.T) {
	roster := make([]cursorapi.Member, 100_000)
	for i := range roster {
		roster[i] = member(fmt.Sprintf("m%d@x.example", i), "member", false)
	}
	f := &bigTeam{fakeLister: fakeLister{rosters: [][]cursorapi.Member{roster}}}
	s := New("test", hclog.NewNullLogger())
	s.newAdmin = func(cursorapi.Config) (adminAPI, error) { return f, nil }
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if total := f.audit + f.usage + f.spends; total != 0 {
		t.Errorf("Configure made %d enrichment requests, want 0 (the first sync call enriches)", total)
	}
	// The sync's first call (Validate's GetInfo) enriches, and says what is missing.
	resp, err := s.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if total := f.audit + f.usage + f.spends; total > enrichBudget {
		t.Errorf("%d enrichment requests, budget %d", total, enrichBudget)
	}
	if f.usage != 0 {
		t.Errorf("daily usage requested %d times for 100,000 active members, want 0 (too large)", f.usage)
	}
	if f.audit != loginPagesMax || f.spends != enrichBudget-loginPagesMax {
		t.Errorf("audit %d, spend %d requests; want %d and the rest of the budget", f.audit, f.spends, loginPagesMax)
	}
	var warning string
	for _, d := range resp.GetDiagnostics() {
		if d.GetSeverity() == pluginv1.Diagnostic_SEVERITY_WARNING {
			warning = d.GetSummary()
		}
	}
	for _, want := range []string{"daily usage", "100000 active members", "largest spenders"} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning %q does not mention %q", warning, want)
		}
	}

	members := listAll(t, s, &pluginv1.ListMembersRequest{PageSize: 10000})
	withSpend := 0
	for _, m := range members {
		a := m.GetActivity()
		if a.GetUsageKnown() || !a.GetLoginsKnown() {
			t.Fatalf("%s: usage_known %v logins_known %v", m.GetKey(), a.GetUsageKnown(), a.GetLoginsKnown())
		}
		if a.GetSpendKnown() {
			withSpend++
		}
	}
	if withSpend != f.spends*spendPageSize {
		t.Errorf("%d members have spend, want %d (the pages read)", withSpend, f.spends*spendPageSize)
	}
}
