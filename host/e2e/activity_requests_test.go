//go:build linux

package e2e

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// enrichmentRequests is the enrichment_requests of the plugin's log line
// "read member activity from Cursor"; -1 when there is none.
func enrichmentRequests(out string) int {
	line, ok := anyLine(out, "read member activity from Cursor", "enrichment_requests")
	if !ok {
		return -1
	}
	m := regexp.MustCompile(`enrichment_requests\W+(\d+)`).FindStringSubmatch(line)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func activityRequests(tenant *simulator.Tenant) int {
	return tenant.Requests(auditPath) + tenant.Requests(usagePath) + tenant.Requests(spendPath)
}

// The log's enrichment_requests counts HTTP requests, retries included, and
// the budget of 18 holds in them (issue 16.2).
func TestEnrichmentCountsAndBudgetsHTTPRequests(t *testing.T) {
	for _, tc := range []struct {
		name        string
		members     int
		faults      simulator.ActivityFaults
		maxRequests int
	}{
		// Three parts side by side, one request each: a 429 is not retried
		// and stops the pass.
		{"a 429 stops the pass at once", 60, simulator.ActivityFaults{RateLimited: 1000}, 3},
		// 10,000 members use 15 or more of the 18; five 503s retried on
		// top would be past the budget if retries were free.
		{"retried 5xx answers count against the budget", 10_000, simulator.ActivityFaults{ServerErrors: 5}, 18},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenant, srv := newTenant(t, simulator.Config{Members: tc.members, Seed: 5, ActivityFaults: tc.faults})
			_, r, _ := syncOK(t, srv.URL)
			sent := activityRequests(tenant)
			if sent > tc.maxRequests {
				t.Errorf("%d HTTP requests to the activity routes, want at most %d", sent, tc.maxRequests)
			}
			if logged := enrichmentRequests(r.out.String()); logged != sent {
				t.Errorf("the log says enrichment_requests %d, the tenant answered %d requests; output:\n%s", logged, sent, tail(r.out.String(), 20))
			}
		})
	}
}
