package handshake_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
	"github.com/conductorone/baton-cursor/plugin/handshake"
	"github.com/conductorone/baton-cursor/plugin/service"
)

// The plugin set serves the real service over go-plugin's gRPC glue, in
// process: what a host dispenses is a working cursor.plugin.v1 client.
func TestPluginSetServesTheServiceInProcess(t *testing.T) {
	tenant, err := simulator.New(simulator.Config{Members: 50, Seed: 2, APIKey: "crsr_handshake-test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()

	set := handshake.VersionedPlugins(service.New("test", hclog.NewNullLogger()))[handshake.ProtocolVersion]
	client, _ := plugin.TestPluginGRPCConn(t, false, set)
	defer client.Close()
	raw, err := client.Dispense(handshake.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := raw.(pluginv1.PluginServiceClient)
	if !ok {
		t.Fatalf("dispensed %T, want a pluginv1.PluginServiceClient", raw)
	}
	ctx := context.Background()
	if _, err := svc.Configure(ctx, &pluginv1.ConfigureRequest{ApiKey: "crsr_handshake-test", BaseUrl: srv.URL}); err != nil {
		t.Fatal(err)
	}
	resp, err := svc.ListMembers(ctx, &pluginv1.ListMembersRequest{IncludeRemoved: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMembers()) != 50 || resp.GetNextPageToken() != "" {
		t.Errorf("got %d members and token %q, want all 50 in one page", len(resp.GetMembers()), resp.GetNextPageToken())
	}
	info, err := svc.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetProtocolVersion() != handshake.ProtocolVersion {
		t.Errorf("GetInfo protocol version %d, want %d", info.GetProtocolVersion(), handshake.ProtocolVersion)
	}
}
