package simulator

import (
	"net/http"
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
