package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
	"github.com/conductorone/baton-cursor/internal/simulator"
	"github.com/conductorone/baton-cursor/plugin/service"
)

// Cursor's answer, switchable: the simulated tenant, a 401, or no answer
// until the caller goes away.
const (
	tenantAnswers = iota
	tenantRejectsKey
	tenantHangs
)

// hung receives one value per request that hangs.
func switchableTenant(t *testing.T) (mode *atomic.Int32, url string, hung chan struct{}) {
	t.Helper()
	tenant, err := simulator.New(simulator.Config{Members: 20, Seed: 9, APIKey: simKey})
	if err != nil {
		t.Fatal(err)
	}
	mode, hung = &atomic.Int32{}, make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case tenantRejectsKey:
			http.Error(w, `{"error":"Invalid API key"}`, http.StatusUnauthorized)
		case tenantHangs:
			// Read the body first: until it is read, net/http cannot see the
			// client leave (r.Context() never ends) for a POST, such as the
			// activity requests sent beside the roster read.
			_, _ = io.Copy(io.Discard, r.Body)
			hung <- struct{}{}
			<-r.Context().Done()
		default:
			tenant.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return mode, srv.URL, hung
}

// serve runs ServeSidecar for impl with its health, until the returned stop.
func serve(t *testing.T, impl *service.Server) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- ServeSidecar(ctx, impl, SidecarOptions{Listen: "127.0.0.1:0", Logger: hclog.NewNullLogger(),
			Ready: func(b string) { ready <- b }, Serving: impl.Serving})
	}()
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("sidecar did not start: %v", err)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return base, stop
}

func healthOf(t *testing.T, base, svc string) grpchealth.Status {
	t.Helper()
	resp, err := grpchealth.NewClient(h2c(), base, connect.WithGRPC()).Check(context.Background(), &grpchealth.CheckRequest{Service: svc})
	if err != nil {
		t.Fatalf("health of %q: %v", svc, err)
	}
	return resp.Status
}

// The plugin service is NOT_SERVING while Cursor rejects the key and SERVING
// once a roster was fetched; the process itself ("") stays SERVING, so a
// liveness probe does not restart a sidecar whose key was revoked.
func TestHealthFollowsCursorsVerdictOnTheKey(t *testing.T) {
	mode, cursorURL, _ := switchableTenant(t)
	mode.Store(tenantRejectsKey)
	impl := service.New("test", hclog.NewNullLogger())
	if _, err := impl.ConfigureSidecar(context.Background(), &pluginv1.ConfigureRequest{ApiKey: simKey, BaseUrl: cursorURL}, false); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("ConfigureSidecar with a rejected key: %v", err)
	}
	base, _ := serve(t, impl)
	svc := pluginv1connect.PluginServiceName
	if got := healthOf(t, base, svc); got != grpchealth.StatusNotServing {
		t.Errorf("health of %s while Cursor rejects the key: %v, want NOT_SERVING", svc, got)
	}
	if got := healthOf(t, base, ""); got != grpchealth.StatusServing {
		t.Errorf("process health: %v, want SERVING", got)
	}
	mode.Store(tenantAnswers)
	client := pluginv1connect.NewPluginServiceClient(http.DefaultClient, base)
	if _, err := client.ListRoles(context.Background(), &pluginv1.ListRolesRequest{}); err != nil {
		t.Fatalf("ListRoles once Cursor accepts the key: %v", err)
	}
	if got := healthOf(t, base, svc); got != grpchealth.StatusServing {
		t.Errorf("health of %s after a roster was fetched: %v, want SERVING", svc, got)
	}
}

// SIGTERM while a call waits for Cursor: the drain cancels it after its 5 s
// and the sidecar stops cleanly instead of failing its shutdown.
func TestDrainEndsCallsWaitingForCursor(t *testing.T) {
	mode, cursorURL, hung := switchableTenant(t)
	mode.Store(tenantRejectsKey) // no roster yet, so the next call fetches
	impl := service.New("test", hclog.NewNullLogger())
	_, _ = impl.ConfigureSidecar(context.Background(), &pluginv1.ConfigureRequest{ApiKey: simKey, BaseUrl: cursorURL}, false)
	base, stop := serve(t, impl)
	mode.Store(tenantHangs)
	called := make(chan error, 1)
	go func() {
		_, err := pluginv1connect.NewPluginServiceClient(http.DefaultClient, base).ListMembers(context.Background(), &pluginv1.ListMembersRequest{})
		called <- err
	}()
	<-hung // the call's roster fetch waits for Cursor
	if err := stop(); err != nil {
		t.Errorf("ServeSidecar after SIGTERM with a call waiting for Cursor: %v, want a clean stop", err)
	}
	if err := <-called; err == nil {
		t.Error("the call waiting for Cursor succeeded, want an error")
	}
}
