package service

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A refused Organization API key leaves the feed serving the team's log,
// and says so once for that key, not on every poll; a new key (Configure
// again) is warned about again.
func TestRefusedOrgKeyIsWarnedOncePerKey(t *testing.T) {
	tenant, err := simulator.New(simulator.Config{APIKey: testKey, Members: 5, Org: simulator.OrgConfig{APIKey: testOrgKey, People: 10, RateLimit: -1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	var out lockedBuf
	s := New("test", hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Warn}))
	ctx := context.Background()
	configure := func(orgKey string) {
		if _, err := s.Configure(ctx, &pluginv1.ConfigureRequest{ApiKey: testKey, OrgApiKey: orgKey, BaseUrl: srv.URL, DeferKeyCheck: true}); err != nil {
			t.Fatalf("Configure: %v", err)
		}
	}
	polls := func() {
		for range 3 {
			if _, err := s.ListAuditEvents(ctx, &pluginv1.ListAuditEventsRequest{}); err != nil {
				t.Fatalf("the team log must still serve: %v", err)
			}
		}
	}
	const line = "the organization audit log part of the event feed is off"
	configure("crsr_org_wrong-key")
	polls()
	if n := strings.Count(out.String(), line); n != 1 {
		t.Fatalf("warned %d times over 3 polls with a refused key, want 1; log:\n%s", n, out.String())
	}
	configure("crsr_org_another-wrong-key")
	polls()
	if n := strings.Count(out.String(), line); n != 2 {
		t.Errorf("warned %d times after a second refused key, want 2; log:\n%s", n, out.String())
	}
}
