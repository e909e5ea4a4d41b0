package simulator

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

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
