//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/protobuf/proto"

	"github.com/conductorone/baton-cursor/host/connector"
	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// maxPageBytes is the host's page budget (host/connector/pagesize.go): half
// of the 4 MiB baton-sdk's parent accepts from its _connector-service child.
const maxPageBytes = 2 << 20

// pageLine is the host's debug line for each page it returns to baton-sdk.
type pageLine struct {
	Msg   string `json:"msg"`
	Of    string `json:"of"`
	Items int    `json:"items"`
	Bytes int    `json:"page_bytes"`
}

// largestPages reads the host's debug lines: per kind of item, the largest
// page in bytes, its items, and how many pages there were.
func largestPages(t *testing.T, out string) map[string][3]int {
	t.Helper()
	got := map[string][3]int{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"page_bytes"`) {
			continue
		}
		var p pageLine
		if err := json.Unmarshal([]byte(line), &p); err != nil || p.Msg != "baton-cursor: page for baton-sdk" {
			continue
		}
		g := got[p.Of]
		if p.Bytes > g[0] {
			g[0], g[1] = p.Bytes, p.Items
		}
		g[2]++
		got[p.Of] = g
	}
	return got
}

// Service mode at the largest team and the longest addresses (issue 15): a
// sync task of 100,000 members whose emails are all 254 characters, RFC
// 5321's longest, with activity profiles, crosses baton-sdk's 4 MiB hop to
// its _connector-service child in pages of at most 2 MiB and uploads a c1z
// that matches the tenant. Before pages were sized (users 4,000, grants
// 10,000 a page) every such task failed with "ResourceExhausted: grpc:
// received message larger than max".
func TestServiceSyncOf100kMembersWithTheLongestAddresses(t *testing.T) {
	const members = 100_000
	tenant, srv := newTenant(t, simulator.Config{Members: members, Seed: 67, LongEmails: true})
	if e := tenant.Members()[0].Email; len(e) != 254 {
		t.Fatalf("the tenant's emails are %d characters (%q), want 254", len(e), e)
	}
	s := startService(t, serviceOpts{Base: srv.URL, Env: []string{"BATON_LOG_LEVEL=debug", "BATON_LOG_FORMAT=json"}})

	start := time.Now()
	id := s.c1.EnqueueSync()
	out := s.outcome(t, id, 300*time.Second)
	t.Logf("the 100,000-member sync task took %v", time.Since(start).Round(time.Millisecond))
	if !out.Success {
		t.Fatalf("sync task failed: %v %q; output:\n%s", out.Code, out.Message, tail(s.host.out.String(), 30))
	}
	ups := s.c1.Uploads(id)
	if len(ups) != 1 {
		t.Fatalf("%d uploads, want 1", len(ups))
	}
	c, err := c1zread.Read(context.Background(), ups[0].Path)
	if err != nil {
		t.Fatalf("read the uploaded c1z: %v", err)
	}
	checkSyncMatchesTenant(t, tenant.Members(), c)

	pages := largestPages(t, s.host.out.String())
	for _, of := range []string{"user", "grant"} {
		p, ok := pages[of]
		if !ok {
			t.Errorf("no debug line for a page of %ss", of)
			continue
		}
		t.Logf("%ss: %d pages; the largest %d bytes (%d items)", of, p[2], p[0], p[1])
		if p[0] > maxPageBytes {
			t.Errorf("a page of %ss was %d bytes, over the %d-byte budget", of, p[0], maxPageBytes)
		}
	}
	// A role's entitlements are one page of one: the role syncer's, whose
	// entitlement carries the role resource (the c1z stores it without).
	largest := 0
	for _, r := range c.OfType("role") {
		page := v2.EntitlementsServiceListEntitlementsResponse_builder{List: []*v2.Entitlement{connector.RoleEntitlement(r)}}.Build()
		largest = max(largest, proto.Size(page))
	}
	t.Logf("entitlements: %d pages of one; the largest %d bytes", len(c.OfType("role")), largest)
}
