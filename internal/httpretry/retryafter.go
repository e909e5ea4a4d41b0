package httpretry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads h's Retry-After (delta seconds or an HTTP date) and returns
// the wait, capped at max. ok is false when the header is absent, unparsable,
// zero or in the past: the caller then uses its own schedule. An HTTP date is
// measured against the response's Date header when present (immune to clock
// skew between us and the server), else against now.
func RetryAfter(h http.Header, now time.Time, max time.Duration) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0, false
		}
		if secs > int64(max/time.Second) {
			return max, true
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if date, err := http.ParseTime(h.Get("Date")); err == nil {
		now = date
	}
	d = at.Sub(now)
	if d <= 0 {
		return 0, false
	}
	return min(d, max), true
}
