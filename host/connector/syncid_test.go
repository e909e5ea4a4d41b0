package connector

import (
	"context"
	"testing"

	"github.com/conductorone/baton-sdk/pkg/pagination"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// recordingPlugin records the sync id of every roster call; a fake of our own
// interface.
type recordingPlugin struct {
	pluginv1.PluginServiceClient
	syncIDs []string
}

func (p *recordingPlugin) Get(context.Context) (pluginv1.PluginServiceClient, error) { return p, nil }

func (p *recordingPlugin) ListMembers(_ context.Context, req *pluginv1.ListMembersRequest, _ ...grpc.CallOption) (*pluginv1.ListMembersResponse, error) {
	p.syncIDs = append(p.syncIDs, req.GetSyncId())
	return &pluginv1.ListMembersResponse{Members: []*pluginv1.Member{{Key: "a@x.test", Email: "a@x.test", Role: "owner"}}}, nil
}

func (p *recordingPlugin) ListRoles(_ context.Context, req *pluginv1.ListRolesRequest, _ ...grpc.CallOption) (*pluginv1.ListRolesResponse, error) {
	p.syncIDs = append(p.syncIDs, req.GetSyncId())
	return &pluginv1.ListRolesResponse{Roles: []*pluginv1.Role{{Id: "owner", DisplayName: "Owner"}}}, nil
}

// Every roster call of a sync names baton's sync, so the plugin serves users,
// roles and grants from one snapshot.
func TestEveryRosterCallNamesTheSync(t *testing.T) {
	p := &recordingPlugin{}
	c := &Connector{plugin: p}
	ctx := context.Background()
	opts := rs.SyncOpAttrs{SyncID: "2hQ3sync", PageToken: pagination.Token{}}
	if _, _, err := (&userBuilder{conn: c}).List(ctx, nil, opts); err != nil {
		t.Fatal(err)
	}
	roles, _, err := (&roleBuilder{conn: c}).List(ctx, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (&roleBuilder{conn: c}).Grants(ctx, roles[0], opts); err != nil {
		t.Fatal(err)
	}
	if len(p.syncIDs) != 3 {
		t.Fatalf("%d roster calls, want 3", len(p.syncIDs))
	}
	for i, id := range p.syncIDs {
		if id != "2hQ3sync" {
			t.Errorf("call %d named sync %q, want baton's sync id", i, id)
		}
	}
}
