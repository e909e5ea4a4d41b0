package main

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/connectorclient"
	sdksync "github.com/conductorone/baton-sdk/pkg/sync"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/conductorone/baton-cursor/internal/c1zread"
)

// TestSyncInProcess runs the floor through baton-sdk's syncer in one process
// (baton-sdk-reference §4.3) and checks what lands in the c1z. With
// -memprofile it also shows the syncer's own allocations.
func TestSyncInProcess(t *testing.T) {
	ctx := context.Background()
	srv, err := connectorbuilder.NewConnector(ctx, &memConnector{members: 2000, seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	v2.RegisterConnectorServiceServer(gs, srv)
	v2.RegisterResourceTypesServiceServer(gs, srv)
	v2.RegisterResourcesServiceServer(gs, srv)
	v2.RegisterEntitlementsServiceServer(gs, srv)
	v2.RegisterGrantsServiceServer(gs, srv)
	v2.RegisterAssetServiceServer(gs, srv)
	v2.RegisterResourceGetterServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	path := filepath.Join(t.TempDir(), "floor.c1z")
	s, err := sdksync.NewSyncer(ctx, connectorclient.NewConnectorClient(ctx, conn), sdksync.WithC1ZPath(path), sdksync.WithTmpDir(t.TempDir()))
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
	ro, _ := newRoster(2000, 1)
	active := 0
	for _, m := range ro.all {
		if !m.Removed {
			active++
		}
	}
	if got, want := len(c.OfType("user")), len(ro.all); got != want {
		t.Errorf("%d users in the c1z, want %d", got, want)
	}
	if got, want := len(c.OfType("role")), len(ro.roles); got != want {
		t.Errorf("%d roles in the c1z, want %d", got, want)
	}
	if len(c.Grants) != active {
		t.Errorf("%d grants in the c1z, want one per active member (%d)", len(c.Grants), active)
	}
}
