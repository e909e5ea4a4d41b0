package simulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

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

	// The history never changes once built; the rows are built outside the
	// lock on a copy of the members, so that the roster and the other routes
	// are not held while a large team's answer is built.
	t.mu.Lock()
	h := t.historyLocked()
	members := slices.Clone(t.members)
	t.mu.Unlock()
	// The history's days whose start lies in [start, end].
	var days []int
	for d := HistoryDays; d >= 1; d-- {
		if ds := h.dayStart(d); !ds.Before(start) && !ds.After(end) {
			days = append(days, d)
		}
	}
	row := func(i, d int, paged bool) wireUsageRow {
		m := &members[i]
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
		// Only active users, only their active days. A client that hung up
		// (a team it learned is too large) gets nothing built for it.
		for _, d := range days {
			if r.Context().Err() != nil {
				return
			}
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
