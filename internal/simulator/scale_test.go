package simulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Tests of the switches the SCIM-at-scale tests and benchmark need:
// Config.SCIMMaxResults and Faults.Latency.

func TestSCIMMaxResultsCapsPages(t *testing.T) {
	for _, c := range []struct {
		max, count, want int
	}{
		{0, 1000, 100},    // the default cap
		{7, 1000, 7},      // a lower cap
		{1000, 1000, 250}, // a higher one: the whole directory of 250
		{1000, 30, 30},    // count below the cap is honoured
	} {
		_, srv := newSCIMTenant(t, Config{Members: 498, Seed: 2, SCIMMaxResults: c.max})
		l := decodeList(t, scimGet(t, srv, "/scim/v2/Users?startIndex=1&count="+itoa(c.count)))
		if l.TotalResults != 250 || l.ItemsPerPage != c.want || len(l.Resources) != c.want {
			t.Errorf("cap %d, count %d: total %d, itemsPerPage %d, %d resources; want 250, %d, %d",
				c.max, c.count, l.TotalResults, l.ItemsPerPage, len(l.Resources), c.want, c.want)
		}
	}
	if _, err := New(Config{APIKey: "k", SCIMMaxResults: -1}); err == nil || !strings.Contains(err.Error(), "SCIMMaxResults must be >= 0") {
		t.Errorf("New with SCIMMaxResults -1: %v", err)
	}
}

func TestLatencyDelaysEveryRoute(t *testing.T) {
	const latency = 150 * time.Millisecond
	_, srv := newSCIMTenant(t, Config{Members: 20, Faults: Faults{Latency: latency, RateLimited: 1}})
	for _, c := range []struct {
		name   string
		do     func() response
		status int
	}{
		{"Admin API 429 fault", func() response { return get(t, srv, pathMembers, testKey) }, http.StatusTooManyRequests},
		{"Admin API members", func() response { return get(t, srv, pathMembers, testKey) }, http.StatusOK},
		{"Admin API bad key", func() response { return get(t, srv, pathMembers, "crsr_wrong") }, http.StatusUnauthorized},
		{"SCIM list", func() response { return scimGet(t, srv, "/scim/v2/Users") }, http.StatusOK},
		{"SCIM bad token", func() response { return scimCall(t, srv, http.MethodGet, "/scim/v2/Users", "wrong", "") }, http.StatusUnauthorized},
	} {
		start := time.Now()
		r := c.do()
		// A lower bound only: the answer cannot come before the latency has passed.
		if took := time.Since(start); r.status != c.status || took < latency {
			t.Errorf("%s: HTTP %d after %v; want %d after at least %v", c.name, r.status, took, c.status, latency)
		}
	}
	if _, err := New(Config{APIKey: "k", Faults: Faults{Latency: -time.Second}}); err == nil || !strings.Contains(err.Error(), "Latency must be >= 0") {
		t.Errorf("New with a negative latency: %v", err)
	}
}
