package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
	"github.com/conductorone/baton-cursor/internal/simulator"
	"github.com/conductorone/baton-cursor/plugin/service"
)

const simKey = "crsr_sidecar-test-key"

// startSidecar serves a sidecar over a simulated tenant and returns its base URL.
func startSidecar(t *testing.T, members int, token string) string {
	t.Helper()
	tenant, err := simulator.New(simulator.Config{Members: members, Seed: 5, APIKey: simKey})
	if err != nil {
		t.Fatal(err)
	}
	sim := httptest.NewServer(tenant)
	t.Cleanup(sim.Close)
	impl := service.New("test", hclog.NewNullLogger())
	if _, err := impl.ConfigureSidecar(context.Background(), &pluginv1.ConfigureRequest{ApiKey: simKey, BaseUrl: sim.URL}, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- ServeSidecar(ctx, impl, SidecarOptions{Listen: "127.0.0.1:0", AuthToken: token, Logger: hclog.NewNullLogger(),
			Ready: func(base string) { ready <- base }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeSidecar: %v", err)
		}
	})
	select {
	case base := <-ready:
		return base
	case err := <-done:
		t.Fatalf("sidecar did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar did not start in 10 s")
	}
	return ""
}

// h2c is an HTTP client that speaks HTTP/2 without TLS, as gRPC needs.
func h2c() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

func TestEveryProtocolGetsTheFirstPage(t *testing.T) {
	base := startSidecar(t, 40, "")
	clients := map[string]pluginv1connect.PluginServiceClient{
		"gRPC (h2c)":    pluginv1connect.NewPluginServiceClient(h2c(), base, connect.WithGRPC()),
		"gRPC-Web":      pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithGRPCWeb()),
		"Connect proto": pluginv1connect.NewPluginServiceClient(http.DefaultClient, base),
		"Connect JSON":  pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithProtoJSON()),
	}
	var want []string
	for name, c := range clients {
		resp, err := c.ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageSize: 7})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, m := range resp.GetMembers() {
			got = append(got, m.GetKey())
		}
		if len(got) != 7 || resp.GetNextPageToken() == "" {
			t.Errorf("%s: %d members, token %q; want a first page of 7 and a token", name, len(got), resp.GetNextPageToken())
		}
		if want == nil {
			want = got
		} else if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s returned a different first page: %v vs %v", name, got, want)
		}
		// Errors keep their code on every protocol.
		_, err = c.ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageToken: "bogus"})
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("%s: bad token gave %v, want invalid_argument", name, err)
		}
	}

	// grpc-go, as grpcurl and baton-cursor --plugin-address use it.
	conn, err := grpc.NewClient(strings.TrimPrefix(base, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := pluginv1.NewPluginServiceClient(conn).ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageSize: 7})
	if err != nil || len(resp.GetMembers()) != 7 || resp.GetMembers()[0].GetKey() != want[0] {
		t.Errorf("grpc-go: %v, %v", resp, err)
	}
}

func TestReflectionAndHealth(t *testing.T) {
	base := startSidecar(t, 20, "")
	stream := grpcreflect.NewClient(h2c(), base, connect.WithGRPC()).NewStream(context.Background())
	defer stream.Close()
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range names {
		got[string(n)] = true
	}
	for _, want := range []string{"cursor.plugin.v1.PluginService", "grpc.health.v1.Health",
		"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} {
		if !got[want] {
			t.Errorf("reflection lacks %s (has %v)", want, names)
		}
	}
	health, err := grpchealth.NewClient(h2c(), base, connect.WithGRPC()).Check(context.Background(), &grpchealth.CheckRequest{})
	if err != nil || health.Status != grpchealth.StatusServing {
		t.Errorf("health = %v, %v; want SERVING", health, err)
	}
}

func TestConfigureFromTheNetworkIsRefused(t *testing.T) {
	base := startSidecar(t, 20, "")
	c := pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithProtoJSON())
	_, err := c.Configure(context.Background(), &pluginv1.ConfigureRequest{ApiKey: "crsr_attacker", BaseUrl: "https://evil.example"})
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("Configure = %v, want permission_denied", err)
	}
	info, err := c.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil || !info.GetFeatures().GetSidecar() || info.GetTeam().GetActiveMembers() == 0 {
		t.Errorf("GetInfo after the refused Configure = %v, %v; want the sidecar's own team", info, err)
	}
}

func TestTokenIsRequired(t *testing.T) {
	const token = "sidecar-token-0123456789"
	base := startSidecar(t, 20, token)
	withToken := connect.WithInterceptors(bearerHeader(token))
	for name, c := range map[string]pluginv1connect.PluginServiceClient{
		"none":  pluginv1connect.NewPluginServiceClient(http.DefaultClient, base),
		"wrong": pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithInterceptors(bearerHeader("nope"))),
	} {
		if _, err := c.GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("%s token: %v, want unauthenticated", name, err)
		}
	}
	if _, err := pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, withToken).GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); err != nil {
		t.Errorf("with the token: %v", err)
	}
	// Reflection is a stream; it is protected too.
	stream := grpcreflect.NewClient(h2c(), base, connect.WithGRPC()).NewStream(context.Background())
	defer stream.Close()
	if _, err := stream.ListServices(); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("reflection without the token: %v, want unauthenticated", err)
	}
	// grpc-go with metadata, as grpcurl -H sends it.
	conn, err := grpc.NewClient(strings.TrimPrefix(base, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gc := pluginv1.NewPluginServiceClient(conn)
	if _, err := gc.GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("grpc-go without the token: %v", err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	if _, err := gc.GetInfo(ctx, &pluginv1.GetInfoRequest{}); err != nil {
		t.Errorf("grpc-go with the token: %v", err)
	}
	// Health stays open for probes.
	if _, err := grpchealth.NewClient(h2c(), base, connect.WithGRPC()).Check(context.Background(), &grpchealth.CheckRequest{}); err != nil {
		t.Errorf("health without the token: %v", err)
	}
}

func bearerHeader(tok string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+tok)
			return next(ctx, req)
		}
	}
}

func TestCheckExposure(t *testing.T) {
	cases := []struct {
		o  SidecarOptions
		ok bool
	}{
		{SidecarOptions{Listen: "127.0.0.1:8080"}, true},
		{SidecarOptions{Listen: "[::1]:8080"}, true},
		{SidecarOptions{Listen: "localhost:8080"}, true},
		{SidecarOptions{Listen: "0.0.0.0:8080"}, false},
		{SidecarOptions{Listen: ":8080"}, false},
		{SidecarOptions{Listen: "10.1.2.3:8080"}, false},
		{SidecarOptions{Listen: "0.0.0.0:8080", AuthToken: "t"}, true},
		{SidecarOptions{Listen: "0.0.0.0:8080", TLSCert: "c.pem", TLSKey: "k.pem"}, false}, // TLS is the wire, not who calls
		{SidecarOptions{Listen: "0.0.0.0:8080", AuthToken: "t", TLSCert: "c.pem", TLSKey: "k.pem"}, true},
		{SidecarOptions{Listen: "127.0.0.1:8080", AllowWrites: true}, false}, // writes need the token, loopback too
		{SidecarOptions{Listen: "127.0.0.1:8080", AllowWrites: true, AuthToken: "t"}, true},
		{SidecarOptions{Listen: "127.0.0.1:8080", TLSCert: "c.pem"}, false},
		{SidecarOptions{Listen: "8080"}, false},
	}
	for _, c := range cases {
		err := c.o.CheckExposure()
		if (err == nil) != c.ok {
			t.Errorf("%+v: %v, want ok=%v", c.o, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: the refusal is not one line: %q", c.o, err)
		}
	}
}

func TestServeOverTLS(t *testing.T) {
	// httptest's self-signed certificate, written where the sidecar reads it.
	dir := t.TempDir()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Close()
	certPEM, keyPEM := testCertPEM(t, srv.TLS.Certificates[0])
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	impl := service.New("test", hclog.NewNullLogger())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	go func() {
		_ = ServeSidecar(ctx, impl, SidecarOptions{Listen: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile,
			Logger: hclog.NewNullLogger(), Ready: func(b string) { ready <- b }})
	}()
	base := <-ready
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base %q, want https", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}} //nolint:gosec // test certificate
	info, err := pluginv1connect.NewPluginServiceClient(client, base, connect.WithGRPC()).GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil || info.GetProtocolVersion() != 1 {
		t.Errorf("gRPC over TLS: %v, %v", info, err)
	}
}

// testCertPEM encodes a tls.Certificate (httptest's) as PEM files' contents.
func testCertPEM(t *testing.T, c tls.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
}
