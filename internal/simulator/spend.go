package simulator

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// --- POST /teams/spend ---

type wireSpendRow struct {
	UserID                       any      `json:"userId"`
	Name                         string   `json:"name"`
	Email                        string   `json:"email"`
	Role                         string   `json:"role"`
	SpendCents                   float64  `json:"spendCents"`
	OverallSpendCents            float64  `json:"overallSpendCents"`
	FastPremiumRequests          int      `json:"fastPremiumRequests"`
	HardLimitOverrideDollars     float64  `json:"hardLimitOverrideDollars"`
	MonthlyLimitDollars          *float64 `json:"monthlyLimitDollars"`
	EffectivePerUserLimitDollars float64  `json:"effectivePerUserLimitDollars"`
}

// SpendOf is row i's current-cycle spend as /teams/spend reports it; limit
// is nil when the member has no monthly limit.
func (t *Tenant) SpendOf(row int) (cents float64, fastPremium int, limit *float64) {
	return t.gen.spendOf(row)
}

func (t *Tenant) serveSpend(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SearchTerm    string `json:"searchTerm"`
		SortBy        string `json:"sortBy"`
		SortDirection string `json:"sortDirection"`
		Page          int    `json:"page"`
		PageSize      int    `json:"pageSize"`
	}
	if !readBody(r, &req) {
		badRequest(w, "Request body must be a JSON object")
		return
	}
	if req.Page == 0 {
		req.Page = 1
	}
	if req.PageSize == 0 {
		req.PageSize = 100
	}
	switch {
	case req.Page < 1 || req.PageSize < 1:
		badRequest(w, "page and pageSize must be >= 1")
		return
	case req.SortBy != "" && req.SortBy != "amount" && req.SortBy != "date" && req.SortBy != "user":
		badRequest(w, "sortBy must be amount, date or user")
		return
	case req.SortDirection != "" && req.SortDirection != "asc" && req.SortDirection != "desc":
		badRequest(w, "sortDirection must be asc or desc")
		return
	}
	size := min(req.PageSize, maxSpendPageSize)

	t.mu.Lock()
	cycle := t.historyLocked().today
	order := t.spendOrderLocked(spendSort{by: req.SortBy, desc: req.SortDirection != "asc", search: strings.ToLower(req.SearchTerm)})
	total := len(order)
	lo, hi := min((req.Page-1)*size, total), min(req.Page*size, total)
	rows := make([]wireSpendRow, 0, hi-lo)
	for _, i := range order[lo:hi] {
		m := &t.members[i]
		cents, fast, limit := t.gen.spendOf(i)
		row := wireSpendRow{UserID: m.ID, Name: m.Name, Email: m.Email, Role: m.Role, SpendCents: cents,
			OverallSpendCents: cents, FastPremiumRequests: fast, MonthlyLimitDollars: limit}
		if limit != nil {
			row.EffectivePerUserLimitDollars = *limit
		}
		rows = append(rows, row)
	}
	t.mu.Unlock()
	body, _ := json.Marshal(map[string]any{
		"teamMemberSpend":        rows,
		"subscriptionCycleStart": time.Date(cycle.Year(), cycle.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		"totalMembers":           total,
		"totalPages":             (total + size - 1) / size,
	})
	writeJSON(w, http.StatusOK, body)
}

// spendSort is one way /teams/spend was asked to order its rows.
type spendSort struct {
	by     string
	desc   bool
	search string // lower case
}

// spendOrderLocked returns the roster rows /teams/spend lists for o, in
// order. It is sorted once per roster state: a sync asks for every page at
// once, and this tenant shares the benchmarks' machine (its work is not the
// sync's).
func (t *Tenant) spendOrderLocked(o spendSort) []int {
	if order, ok := t.spendOrder[o]; ok {
		return order
	}
	type candidate struct {
		row   int
		cents float64
	}
	cands := make([]candidate, 0, len(t.members))
	for i := range t.members {
		m := &t.members[i]
		if m.IsRemoved || o.search != "" && !strings.Contains(strings.ToLower(m.Email+" "+m.Name), o.search) {
			continue
		}
		cents, _, _ := t.gen.spendOf(i)
		cands = append(cands, candidate{row: i, cents: cents})
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		c := 0
		if o.by == "amount" {
			c = cmp.Compare(a.cents, b.cents)
		}
		if c == 0 {
			c = strings.Compare(t.members[a.row].Email, t.members[b.row].Email)
		}
		if o.desc {
			return -c
		}
		return c
	})
	order := make([]int, len(cands))
	for i, c := range cands {
		order[i] = c.row
	}
	if t.spendOrder == nil {
		t.spendOrder = map[spendSort][]int{}
	}
	t.spendOrder[o] = order
	return order
}
