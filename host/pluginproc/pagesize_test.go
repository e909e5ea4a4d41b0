//go:build linux

package pluginproc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/protobuf/proto"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/plugin/service"
	"github.com/conductorone/baton-cursor/plugin/transport"
)

// longNamedTeam serves GET /teams/members: n members whose names are long
// enough that a page of 10,000 passes gRPC's default 4 MiB message limit.
func longNamedTeam(t *testing.T, n int) *httptest.Server {
	t.Helper()
	type row struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Email     string `json:"email"`
		Role      string `json:"role"`
		IsRemoved bool   `json:"isRemoved"`
	}
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{ID: fmt.Sprintf("user_%d", i), Email: fmt.Sprintf("person%05d@example.com", i), Role: "member",
			Name: fmt.Sprintf("Person %d ", i) + strings.Repeat("Ødegård-Löwenstein ", 30)}
	}
	body, err := json.Marshal(map[string]any{"teamMembers": rows})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/teams/members" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// serveSidecar serves the plugin's service as `baton-cursor-plugin serve`
// does, over the team at baseURL, and returns its address.
func serveSidecar(t *testing.T, baseURL string) string {
	t.Helper()
	impl := service.New("test", hclog.NewNullLogger())
	if _, err := impl.ConfigureSidecar(context.Background(), &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: baseURL}, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- transport.ServeSidecar(ctx, impl, transport.SidecarOptions{Listen: "127.0.0.1:0", Logger: hclog.NewNullLogger(),
			Ready: func(base string) { ready <- base }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case base := <-ready:
		return base
	case err := <-done:
		t.Fatalf("sidecar: %v", err)
	}
	return ""
}

// TestFullPagesOfLongNamesOnBothPaths: the host asks for pages of 10,000
// members; with names of about 600 bytes such a page is over 6 MiB. Attach
// mode and go-plugin must both carry it (one limit, handshake.MaxMessageBytes).
func TestFullPagesOfLongNamesOnBothPaths(t *testing.T) {
	const members = 10_000
	team := longNamedTeam(t, members)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	remote, err := NewRemote(serveSidecar(t, team.URL), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	lazy := NewLazy(Options{Path: realPlugin, Settings: &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: team.URL}})
	t.Cleanup(lazy.kill)

	for name, get := range map[string]func(context.Context) (pluginv1.PluginServiceClient, error){"attach": remote.Get, "go-plugin": lazy.Get} {
		svc, err := get(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		page, err := svc.ListMembers(ctx, &pluginv1.ListMembersRequest{PageSize: members})
		if err != nil {
			t.Errorf("%s: a page of %d long-named members: %v", name, members, err)
			continue
		}
		if size := proto.Size(page); len(page.GetMembers()) != members || size <= 4<<20 {
			t.Errorf("%s: %d members in %d bytes, want %d in over 4 MiB", name, len(page.GetMembers()), size, members)
		}
	}
}
