package oneshot

import (
	"context"
	"path/filepath"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	sdksync "github.com/conductorone/baton-sdk/pkg/sync"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/c1zread"
)

var testUserType = v2.ResourceType_builder{Id: "user", DisplayName: "User",
	Traits: []v2.ResourceType_Trait{v2.ResourceType_TRAIT_USER}}.Build()

// testConnector has n users in pages of 2, and fails validation when told.
type testConnector struct {
	n           int
	validateErr error
}

func (c *testConnector) Metadata(context.Context) (*v2.ConnectorMetadata, error) {
	return v2.ConnectorMetadata_builder{DisplayName: "test"}.Build(), nil
}
func (c *testConnector) Validate(context.Context) (annotations.Annotations, error) {
	return nil, c.validateErr
}
func (c *testConnector) ResourceSyncers(context.Context) []connectorbuilder.ResourceSyncerV2 {
	return []connectorbuilder.ResourceSyncerV2{&testUsers{n: c.n}}
}

type testUsers struct{ n int }

func (u *testUsers) ResourceType(context.Context) *v2.ResourceType { return testUserType }
func (u *testUsers) List(_ context.Context, _ *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	start := 0
	if opts.PageToken.Token != "" {
		start = int(opts.PageToken.Token[0] - '0')
	}
	var out []*v2.Resource
	for i := start; i < min(start+2, u.n); i++ {
		r, err := rs.NewUserResource("user "+string(rune('a'+i)), testUserType, string(rune('a'+i)), nil)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	next := ""
	if start+2 < u.n {
		next = string(rune('0' + start + 2))
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}
func (u *testUsers) Entitlements(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return nil, nil, nil
}
func (u *testUsers) Grants(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

// baton-sdk's syncer, given the in-process client, pages through the
// connector and writes every resource to the c1z.
func TestInProcessClientSyncsThroughBatonSyncer(t *testing.T) {
	ctx := context.Background()
	srv, err := connectorbuilder.NewConnector(ctx, &testConnector{n: 5})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.c1z")
	s, err := sdksync.NewSyncer(ctx, newInProcessClient(ctx, srv, nil, nil), sdksync.WithC1ZPath(path), sdksync.WithTmpDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := c1zread.Read(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.OfType("user")); got != 5 {
		t.Errorf("%d users in the c1z, want 5 (three pages)", got)
	}
}

// A connector's error reaches the caller with its gRPC code (baton-sdk's
// exit code), and a method nobody serves is Unimplemented.
func TestInProcessClientErrors(t *testing.T) {
	ctx := context.Background()
	srv, err := connectorbuilder.NewConnector(ctx, &testConnector{validateErr: status.Error(codes.FailedPrecondition, "not today")})
	if err != nil {
		t.Fatal(err)
	}
	cc := newInProcessClient(ctx, srv, nil, nil)
	_, err = cc.Validate(ctx, &v2.ConnectorServiceValidateRequest{})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Validate: %v, want FailedPrecondition", err)
	}
	c := &inProcess{handlers: map[string]inProcessMethod{}}
	if err := c.Invoke(ctx, "/nope.Service/Method", &v2.ConnectorServiceValidateRequest{}, &v2.ConnectorServiceValidateResponse{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown method: %v, want Unimplemented", err)
	}
}
