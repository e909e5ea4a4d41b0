package service

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/conductorone/baton-cursor/internal/cursorapi"
)

// readSpend reads the pages after page 1 (maxPages in all) all at once: the
// budget bounds how many (Cursor's limit counts requests a minute, not
// requests in flight), and a 10,000-member team's ten pages then cost one
// answer's wait. total is page 1's page count, 0 when it failed.
func (e *enrichment) readSpend(ctx context.Context, api activityAPI, total, maxPages int) {
	if total == 0 {
		return
	}
	var wg sync.WaitGroup
	read := 1
	for page := 2; page <= min(total, maxPages); page++ {
		wg.Go(func() {
			if pages, _ := e.spendPage(ctx, api, page); pages > 0 {
				e.mu.Lock()
				read++
				e.mu.Unlock()
			}
		})
	}
	wg.Wait()
	switch {
	case read >= total:
		e.spendKnown = true
	case total > maxPages:
		e.miss(fmt.Sprintf("spend (spend_cents, fast_premium_requests, spend limit): %d pages of %d members are more than the request budget allows; read for the %d largest spenders, the rest show spend_unknown",
			total, spendPageSize, len(e.spend)))
	default:
		e.miss(fmt.Sprintf("spend was read for %d members only, the rest show spend_unknown", len(e.spend)))
	}
}

// spendPage reads one page of spend into e.spend and returns the page count
// and the team's size (totalMembers, 0 when not given); 0, 0 when it failed.
func (e *enrichment) spendPage(ctx context.Context, api activityAPI, page int) (int, int) {
	var p cursorapi.SpendPage
	if !e.call(ctx, "spend (spend_cents, fast_premium_requests, spend limit)", func() (err error) {
		p, err = api.SpendByAmount(ctx, page, spendPageSize)
		return err
	}) {
		return 0, 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.spend == nil {
		e.spend = map[string]cursorapi.Spend{}
	}
	if !p.CycleStart.IsZero() {
		e.cycleStart = p.CycleStart
	}
	for _, r := range p.Rows {
		if key := strings.ToLower(strings.TrimSpace(r.Email)); key != "" {
			e.spend[key] = r
		}
	}
	return max(p.TotalPages, 1), p.TotalMember
}

// spendLimit is the member's effective limit, else the monthly one, else a
// hard override; nil when Cursor returns none.
func spendLimit(s cursorapi.Spend) *float64 {
	switch {
	case s.EffectiveLimit != nil && *s.EffectiveLimit > 0:
		return s.EffectiveLimit
	case s.MonthlyLimitDollars != nil:
		return s.MonthlyLimitDollars
	case s.HardLimitOverride > 0:
		return &s.HardLimitOverride
	}
	return nil
}
