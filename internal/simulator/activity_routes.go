package simulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	pathAuditLogs  = "/teams/audit-logs"
	pathDailyUsage = "/teams/daily-usage-data"
	pathSpend      = "/teams/spend"

	maxWindow        = 30 * 24 * time.Hour // audit and daily usage windows (docs/cursor-api.md §2.4, §2.5)
	maxAuditPageSize = 500
	maxSpendPageSize = 1000 // undocumented (§8.12); the simulator caps here
)

// isActivityPath reports whether path is one of the activity routes.
func isActivityPath(path string) bool {
	return path == pathAuditLogs || path == pathDailyUsage || path == pathSpend
}

// serveActivity routes the activity endpoints after the shared checks: the
// team rate limit, ActivityFaults, auth and plan.
func (t *Tenant) serveActivity(w http.ResponseWriter, r *http.Request) {
	method := http.MethodPost
	if r.URL.Path == pathAuditLogs {
		method = http.MethodGet
	}
	if r.Method != method {
		w.Header()["Allow"] = []string{method}
		writeJSON(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
		return
	}
	if t.rateLimited(w) {
		return
	}
	t.mu.Lock()
	status := 0
	switch {
	case t.actRateLeft > 0:
		t.actRateLeft--
		status = http.StatusTooManyRequests
	case t.actServerLeft == -1:
		status = http.StatusInternalServerError
	case t.actServerLeft > 0:
		t.actServerLeft--
		status = http.StatusServiceUnavailable
	}
	forbidden := t.activityFaults.Forbidden
	t.mu.Unlock()
	switch status {
	case http.StatusTooManyRequests:
		setRetryAfter(w, "60")
		writeJSON(w, status, bodyTooManyRequests)
		return
	case http.StatusInternalServerError:
		writeJSON(w, status, bodyInternal)
		return
	case http.StatusServiceUnavailable:
		writeJSON(w, status, bodyUnavailable)
		return
	}
	if !t.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, bodyUnauthorized)
		return
	}
	if t.businessPlan || forbidden {
		writeJSON(w, http.StatusForbidden, bodyForbidden)
		return
	}
	switch r.URL.Path {
	case pathAuditLogs:
		t.serveAuditLogs(w, r)
	case pathDailyUsage:
		t.serveDailyUsage(w, r)
	case pathSpend:
		t.serveSpend(w, r)
	}
}

// rateLimited enforces Config.RateLimitPerMinute, shared by every Admin API
// route, in windows that reset each clock minute (docs/cursor-api.md §3.1). It
// answers the 429 itself.
func (t *Tenant) rateLimited(w http.ResponseWriter) bool {
	if t.ratePerMinute == 0 {
		return false
	}
	now := time.Now()
	minute := now.Truncate(time.Minute)
	t.mu.Lock()
	if !minute.Equal(t.rateMinute) {
		t.rateMinute, t.rateUsed = minute, 0
	}
	t.rateUsed++
	over := t.rateUsed > t.ratePerMinute
	t.mu.Unlock()
	if !over {
		return false
	}
	wait := int(math.Ceil(minute.Add(time.Minute).Sub(now).Seconds()))
	setRetryAfter(w, strconv.Itoa(max(wait, 1)))
	writeJSON(w, http.StatusTooManyRequests, bodyTooManyRequests)
	return true
}

func badRequest(w http.ResponseWriter, message string) {
	body, _ := json.Marshal(map[string]string{"error": "Bad Request", "message": message})
	writeJSON(w, http.StatusBadRequest, body)
}

// --- GET /teams/audit-logs ---

type wireAuditEvent struct {
	EventID   string         `json:"event_id"`
	Timestamp string         `json:"timestamp"`
	IPAddress string         `json:"ip_address"`
	UserEmail string         `json:"user_email,omitempty"`
	EventType string         `json:"event_type"`
	EventData map[string]any `json:"event_data"`
}

type auditPagination struct {
	Page            int  `json:"page"`
	PageSize        int  `json:"pageSize"`
	TotalCount      int  `json:"totalCount"`
	TotalPages      int  `json:"totalPages"`
	HasNextPage     bool `json:"hasNextPage"`
	HasPreviousPage bool `json:"hasPreviousPage"`
}

func (t *Tenant) serveAuditLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now().UTC()
	start, ok := parseAuditTime(q.Get("startTime"), now)
	if q.Get("startTime") == "" {
		start, ok = now.Add(-7*24*time.Hour), true
	}
	if !ok {
		badRequest(w, "Invalid startTime")
		return
	}
	end, ok := parseAuditTime(q.Get("endTime"), now)
	if q.Get("endTime") == "" {
		end, ok = now, true
	}
	switch {
	case !ok:
		badRequest(w, "Invalid endTime")
		return
	case end.Before(start):
		badRequest(w, "startTime must be before endTime")
		return
	case end.Sub(start) > maxWindow:
		badRequest(w, "Time range cannot exceed 30 days")
		return
	}
	page, pageSize, ok := pageParams(q, 100, maxAuditPageSize)
	if !ok {
		badRequest(w, "page must be >= 1 and pageSize between 1 and 500")
		return
	}
	types := splitList(q.Get("eventTypes"))
	users := splitList(strings.ToLower(q.Get("users")))
	if len(users) > pageSize {
		badRequest(w, "Too many users: at most pageSize")
		return
	}

	// The history never changes once built; the work runs outside the lock
	// on a copy of the members, so concurrent requests overlap.
	t.mu.Lock()
	h := t.historyLocked()
	members := slices.Clone(t.members)
	t.mu.Unlock()
	var matched []int // indexes into h.events
	for i, e := range h.events {
		if e.at.Before(start) || e.at.After(end) || (len(types) > 0 && !slices.Contains(types, e.kind)) {
			continue
		}
		actor := ""
		if e.actor >= 0 {
			actor = members[e.actor].Email
		}
		if len(users) > 0 && (actor == "" || !slices.Contains(users, strings.ToLower(actor))) {
			continue
		}
		matched = append(matched, i)
	}

	total := len(matched)
	lo, hi := min((page-1)*pageSize, total), min(page*pageSize, total)
	pages := (total + pageSize - 1) / pageSize
	events := make([]wireAuditEvent, 0, hi-lo)
	for _, i := range matched[lo:hi] {
		e, actor := h.events[i], ""
		if e.actor >= 0 {
			actor = members[e.actor].Email
		}
		events = append(events, wireEvent(e, actor, members))
	}
	body, _ := json.Marshal(struct {
		Events     []wireAuditEvent `json:"events"`
		Pagination auditPagination  `json:"pagination"`
		Params     map[string]int64 `json:"params"`
	}{
		Events:     events,
		Pagination: auditPagination{page, pageSize, total, pages, page < pages, page > 1},
		Params:     map[string]int64{"teamId": 4242, "startDate": start.UnixMilli(), "endDate": end.UnixMilli()},
	})
	writeJSON(w, http.StatusOK, body)
}

func wireEvent(e auditEvent, actor string, members []Member) wireAuditEvent {
	out := wireAuditEvent{
		EventID: e.id, Timestamp: e.at.UTC().Format("2006-01-02T15:04:05.000Z"), IPAddress: e.ip,
		UserEmail: actor, EventType: e.kind, EventData: map[string]any{},
	}
	switch e.kind {
	case "login":
		out.EventData = map[string]any{"ip_address": e.ip, "user_agent": "Cursor/2.1.0"}
	case "add_user":
		out.EventData = map[string]any{"email": members[e.target].Email, "method": "manual"}
	case "remove_user":
		out.EventData = map[string]any{"email": members[e.target].Email}
	case "update_user_role":
		out.EventData = map[string]any{"email": members[e.target].Email, "oldRole": "member", "newRole": members[e.target].Role}
	case "team_settings":
		out.EventData = map[string]any{"setting_name": "privacy_mode", "old_value": false, "new_value": true}
	}
	return out
}

// parseAuditTime reads the startTime/endTime forms of docs/cursor-api.md §3.3:
// now, today, yesterday, <n>d, <n>h, <n>s (ago), ISO-8601, YYYY-MM-DD,
// Unix seconds or milliseconds.
func parseAuditTime(v string, now time.Time) (time.Time, bool) {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch v {
	case "now":
		return now, true
	case "today":
		return today, true
	case "yesterday":
		return today.AddDate(0, 0, -1), true
	}
	if n := len(v); n > 1 {
		if k, err := strconv.Atoi(v[:n-1]); err == nil && k >= 0 {
			switch v[n-1] {
			case 'd':
				return now.Add(-time.Duration(k) * 24 * time.Hour), true
			case 'h':
				return now.Add(-time.Duration(k) * time.Hour), true
			case 's':
				return now.Add(-time.Duration(k) * time.Second), true
			}
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		if n >= 1e12 { // milliseconds
			return time.UnixMilli(n).UTC(), true
		}
		return time.Unix(n, 0).UTC(), true
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return d, true
	}
	if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return ts.UTC(), true
	}
	return time.Time{}, false
}

func pageParams(q url.Values, defSize, maxSize int) (page, size int, ok bool) {
	page, size = 1, defSize
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSize {
			return 0, 0, false
		}
		size = n
	}
	return page, size, true
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// readBody decodes a POST route's JSON body into v; an empty body is {}.
func readBody(r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	return json.Unmarshal(body, v) == nil
}

// --- POST /teams/daily-usage-data ---

type wireUsageRow struct {
	UserID                   int64   `json:"userId"`
	Day                      string  `json:"day"`
	Date                     int64   `json:"date"`
	Email                    string  `json:"email,omitempty"`
	IsActive                 *bool   `json:"isActive,omitempty"`
	TotalLinesAdded          int     `json:"totalLinesAdded"`
	TotalLinesDeleted        int     `json:"totalLinesDeleted"`
	AcceptedLinesAdded       int     `json:"acceptedLinesAdded"`
	AcceptedLinesDeleted     int     `json:"acceptedLinesDeleted"`
	TotalApplies             int     `json:"totalApplies"`
	TotalAccepts             int     `json:"totalAccepts"`
	TotalRejects             int     `json:"totalRejects"`
	TotalTabsShown           int     `json:"totalTabsShown"`
	TotalTabsAccepted        int     `json:"totalTabsAccepted"`
	ComposerRequests         int     `json:"composerRequests"`
	ChatRequests             int     `json:"chatRequests"`
	AgentRequests            int     `json:"agentRequests"`
	CmdkUsages               int     `json:"cmdkUsages"`
	SubscriptionIncludedReqs int     `json:"subscriptionIncludedReqs"`
	APIKeyReqs               int     `json:"apiKeyReqs"`
	UsageBasedReqs           int     `json:"usageBasedReqs"`
	BugbotUsages             int     `json:"bugbotUsages"`
	MostUsedModel            *string `json:"mostUsedModel"`
	ApplyMostUsedExtension   *string `json:"applyMostUsedExtension"`
	TabMostUsedExtension     *string `json:"tabMostUsedExtension"`
	ClientVersion            *string `json:"clientVersion"`
}

var (
	usageModel, usageExt, usageClient = "claude-4.5-sonnet", ".go", "2.1.0"
	trueBool, falseBool               = true, false
)

func (t *Tenant) serveDailyUsage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		StartDate *int64 `json:"startDate"`
		EndDate   *int64 `json:"endDate"`
		Page      *int   `json:"page"`
		PageSize  *int   `json:"pageSize"`
	}
	if !readBody(r, &req) {
		badRequest(w, "Request body must be a JSON object")
		return
	}
	switch {
	case req.StartDate == nil || req.EndDate == nil:
		badRequest(w, "startDate and endDate are required (epoch milliseconds)")
		return
	case *req.EndDate < *req.StartDate:
		badRequest(w, "startDate must be before endDate")
		return
	case time.Duration(*req.EndDate-*req.StartDate)*time.Millisecond > maxWindow:
		badRequest(w, "Date range cannot exceed 30 days")
		return
	case (req.Page == nil) != (req.PageSize == nil) || req.Page != nil && (*req.Page < 1 || *req.PageSize < 1):
		badRequest(w, "page and pageSize go together and must be >= 1")
		return
	}
	start, end := time.UnixMilli(*req.StartDate).UTC(), time.UnixMilli(*req.EndDate).UTC()

	t.mu.Lock()
	h := t.historyLocked()
	// The history's days whose start lies in [start, end].
	var days []int
	for d := HistoryDays; d >= 1; d-- {
		if ds := h.dayStart(d); !ds.Before(start) && !ds.After(end) {
			days = append(days, d)
		}
	}
	row := func(i, d int, paged bool) wireUsageRow {
		m := &t.members[i]
		ds := h.dayStart(d)
		out := wireUsageRow{UserID: t.gen.numBase + int64(i)*3, Day: ds.Format(time.DateOnly), Date: ds.UnixMilli(), Email: m.Email}
		if m.IsRemoved {
			out.Email = "" // F-REM2: rows of later-removed users lack the email
		}
		active := h.active[i]&(1<<d) != 0
		if paged {
			out.IsActive = &falseBool
			if active {
				out.IsActive = &trueBool
			}
		}
		if active {
			x := int(splitmix(uint64(i)<<8|uint64(d)) % 50)
			out.TotalLinesAdded, out.AcceptedLinesAdded, out.ChatRequests, out.AgentRequests = 10+x, 5+x/2, 1+x/5, x/10
			out.SubscriptionIncludedReqs = 1 + x/5 + x/10
			out.MostUsedModel, out.ApplyMostUsedExtension, out.TabMostUsedExtension, out.ClientVersion = &usageModel, &usageExt, &usageExt, &usageClient
		}
		return out
	}
	resp := map[string]any{"period": map[string]int64{"startDate": *req.StartDate, "endDate": *req.EndDate}}
	rows := []wireUsageRow{}
	if req.Page == nil {
		// Only active users, only their active days.
		for _, d := range days {
			for i := 0; i < h.numRows; i++ {
				if h.active[i]&(1<<d) != 0 {
					rows = append(rows, row(i, d, false))
				}
			}
		}
	} else {
		// Every member, a row per day; paged by user.
		page, size := *req.Page, *req.PageSize
		total := h.numRows
		for i := min((page-1)*size, total); i < min(page*size, total); i++ {
			for _, d := range days {
				rows = append(rows, row(i, d, true))
			}
		}
		pages := (total + size - 1) / size
		resp["pagination"] = map[string]any{"page": page, "pageSize": size, "totalUsers": total, "totalPages": pages,
			"hasNextPage": page < pages, "hasPreviousPage": page > 1}
	}
	t.mu.Unlock()
	// The rows by hand: a 10,000-member team's 30 days are ~17 MB, several
	// times faster than encoding/json; the envelope through encoding/json.
	envelope, _ := json.Marshal(resp)
	body := make([]byte, 0, len(envelope)+len(rows)*480+16)
	body = append(body, `{"data":[`...)
	for i := range rows {
		if i > 0 {
			body = append(body, ',')
		}
		body = appendUsageRow(body, &rows[i])
	}
	body = append(body, "],"...)
	body = append(body, envelope[1:]...)
	writeJSON(w, http.StatusOK, body)
}

// appendUsageRow encodes r as encoding/json would (same fields and order).
func appendUsageRow(b []byte, r *wireUsageRow) []byte {
	b = append(b, `{"userId":`...)
	b = strconv.AppendInt(b, r.UserID, 10)
	b = append(b, `,"day":`...)
	b = appendString(b, r.Day)
	b = append(b, `,"date":`...)
	b = strconv.AppendInt(b, r.Date, 10)
	if r.Email != "" {
		b = append(b, `,"email":`...)
		b = appendString(b, r.Email)
	}
	if r.IsActive != nil {
		b = append(b, `,"isActive":`...)
		b = strconv.AppendBool(b, *r.IsActive)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"totalLinesAdded", r.TotalLinesAdded}, {"totalLinesDeleted", r.TotalLinesDeleted},
		{"acceptedLinesAdded", r.AcceptedLinesAdded}, {"acceptedLinesDeleted", r.AcceptedLinesDeleted},
		{"totalApplies", r.TotalApplies}, {"totalAccepts", r.TotalAccepts}, {"totalRejects", r.TotalRejects},
		{"totalTabsShown", r.TotalTabsShown}, {"totalTabsAccepted", r.TotalTabsAccepted},
		{"composerRequests", r.ComposerRequests}, {"chatRequests", r.ChatRequests}, {"agentRequests", r.AgentRequests},
		{"cmdkUsages", r.CmdkUsages}, {"subscriptionIncludedReqs", r.SubscriptionIncludedReqs},
		{"apiKeyReqs", r.APIKeyReqs}, {"usageBasedReqs", r.UsageBasedReqs}, {"bugbotUsages", r.BugbotUsages},
	} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, int64(f.v), 10)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"mostUsedModel", r.MostUsedModel}, {"applyMostUsedExtension", r.ApplyMostUsedExtension},
		{"tabMostUsedExtension", r.TabMostUsedExtension}, {"clientVersion", r.ClientVersion},
	} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		if f.v == nil {
			b = append(b, "null"...)
		} else {
			b = appendString(b, *f.v)
		}
	}
	return append(b, '}')
}

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
	search := strings.ToLower(req.SearchTerm)

	t.mu.Lock()
	members := slices.Clone(t.members)
	cycle := t.historyLocked().today
	t.mu.Unlock()
	rows := make([]wireSpendRow, 0, len(members))
	for i := range members {
		m := &members[i]
		if m.IsRemoved || search != "" && !strings.Contains(strings.ToLower(m.Email+" "+m.Name), search) {
			continue
		}
		cents, fast, limit := t.gen.spendOf(i)
		row := wireSpendRow{UserID: m.ID, Name: m.Name, Email: m.Email, Role: m.Role, SpendCents: cents,
			OverallSpendCents: cents, FastPremiumRequests: fast, MonthlyLimitDollars: limit}
		if limit != nil {
			row.EffectivePerUserLimitDollars = *limit
		}
		rows = append(rows, row)
	}

	desc := req.SortDirection != "asc"
	slices.SortStableFunc(rows, func(a, b wireSpendRow) int {
		c := 0
		if req.SortBy == "amount" {
			c = cmp.Compare(a.SpendCents, b.SpendCents)
		}
		if c == 0 {
			c = strings.Compare(a.Email, b.Email)
		}
		if desc {
			return -c
		}
		return c
	})
	total := len(rows)
	lo, hi := min((req.Page-1)*size, total), min(req.Page*size, total)
	body, _ := json.Marshal(map[string]any{
		"teamMemberSpend":        rows[lo:hi],
		"subscriptionCycleStart": time.Date(cycle.Year(), cycle.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		"totalMembers":           total,
		"totalPages":             (total + size - 1) / size,
	})
	writeJSON(w, http.StatusOK, body)
}
