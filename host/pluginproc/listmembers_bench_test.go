//go:build linux

package pluginproc

import (
	"context"
	"net/http/httptest"
	"testing"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// BenchmarkListMembers asks the real plugin binary (built by TestMain) for
// pages of 10,000 of a 100,000-member team over go-plugin (gRPC, AutoMTLS),
// walking the pages round and round as the host's user listing does.
func BenchmarkListMembers(b *testing.B) {
	tenant, err := simulator.New(simulator.Config{Members: 100_000, Seed: 1, APIKey: testKey()})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	l := NewLazy(Options{Path: realPlugin, Settings: &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: srv.URL}})
	defer l.kill()
	ctx := context.Background()
	svc, err := l.Get(ctx) // starts the plugin, which fetches the roster once
	if err != nil {
		b.Fatal(err)
	}

	members, token := 0, ""
	b.ReportAllocs()
	for b.Loop() {
		resp, err := svc.ListMembers(ctx, &pluginv1.ListMembersRequest{PageSize: 10000, PageToken: token, IncludeRemoved: true})
		if err != nil {
			b.Fatal(err)
		}
		members += len(resp.GetMembers())
		token = resp.GetNextPageToken()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(members), "ns/member")
	if got := tenant.Requests("/teams/members"); got != 1 {
		b.Errorf("the plugin made %d /teams/members requests, want 1", got)
	}
}
