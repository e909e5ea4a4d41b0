package transport

// Who may call what on the sidecar, decided before a body is read (issue 10,
// points 1 and 2).

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hashicorp/go-hclog"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
	"github.com/conductorone/baton-cursor/internal/simulator"
	"github.com/conductorone/baton-cursor/plugin/service"
)

const scimToken = "scim_sidecar-guard-test-token"

// serveSCIM serves a sidecar with o over a simulated tenant that has SCIM on,
// and returns its base URL and the tenant.
func serveSCIM(t *testing.T, o SidecarOptions) (string, *simulator.Tenant) {
	t.Helper()
	tenant, err := simulator.New(simulator.Config{Members: 10, Seed: 7, APIKey: simKey, SCIMToken: scimToken})
	if err != nil {
		t.Fatal(err)
	}
	sim := httptest.NewServer(tenant)
	t.Cleanup(sim.Close)
	impl := service.New("test", hclog.NewNullLogger())
	settings := &pluginv1.ConfigureRequest{ApiKey: simKey, BaseUrl: sim.URL, ScimUrl: sim.URL + "/scim/v2", ScimToken: scimToken}
	if _, err := impl.ConfigureSidecar(context.Background(), settings, o.AllowWrites); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	o.Listen, o.Logger = "127.0.0.1:0", hclog.NewNullLogger()
	o.Ready = func(base string) { ready <- base }
	go func() { done <- ServeSidecar(ctx, impl, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeSidecar: %v", err)
		}
	})
	select {
	case base := <-ready:
		return base, tenant
	case err := <-done:
		t.Fatalf("sidecar did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar did not start in 10 s")
	}
	return "", nil
}

func authHeader(value string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", value)
			return next(ctx, req)
		}
	}
}

func TestWritesAreRefusedUnlessAllowed(t *testing.T) {
	// Loopback, no token: reads are open, writes are not.
	base, tenant := serveSCIM(t, SidecarOptions{})
	before := len(tenant.SCIMUsers())
	for _, proto := range []connect.ClientOption{connect.WithProtoJSON(), connect.WithGRPC(), connect.WithGRPCWeb()} {
		c := pluginv1connect.NewPluginServiceClient(h2c(), base, proto)
		_, err := c.Provision(context.Background(), &pluginv1.ProvisionRequest{Email: "mallory@evil.example"})
		if connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "--allow-provisioning") {
			t.Errorf("Provision on a sidecar without --allow-provisioning: %v, want permission_denied naming the flag", err)
		}
		victim := tenant.SCIMUsers()[0].UserName
		if _, err := c.Deprovision(context.Background(), &pluginv1.DeprovisionRequest{Email: victim}); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("Deprovision on a sidecar without --allow-provisioning: %v, want permission_denied", err)
		}
		group := &pluginv1.AddOrgGroupMemberRequest{Kind: pluginv1.GroupKind_GROUP_KIND_ORGANIZATION, GroupId: "g_1", Email: victim}
		if _, err := c.AddOrgGroupMember(context.Background(), group); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("AddOrgGroupMember on a sidecar without --allow-provisioning: %v, want permission_denied", err)
		}
		if _, err := c.RemoveOrgGroupMember(context.Background(), &pluginv1.RemoveOrgGroupMemberRequest{Kind: group.Kind, GroupId: group.GroupId, Email: victim}); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("RemoveOrgGroupMember on a sidecar without --allow-provisioning: %v, want permission_denied", err)
		}
		team := &pluginv1.AddOrgTeamMemberRequest{TeamId: "102", Email: victim}
		if _, err := c.AddOrgTeamMember(context.Background(), team); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("AddOrgTeamMember on a sidecar without --allow-provisioning: %v, want permission_denied", err)
		}
		if _, err := c.RemoveOrgTeamMember(context.Background(), &pluginv1.RemoveOrgTeamMemberRequest{TeamId: "102", Email: victim}); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("RemoveOrgTeamMember on a sidecar without --allow-provisioning: %v, want permission_denied", err)
		}
		info, err := c.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
		if err != nil || info.GetFeatures().GetProvisioning() {
			t.Errorf("GetInfo without a token = %v, %v; want an answer with provisioning off", info.GetFeatures(), err)
		}
	}
	if after := len(tenant.SCIMUsers()); after != before {
		t.Errorf("SCIM users went from %d to %d; a refused write must change nothing", before, after)
	}
}

func TestWritesNeedTheTokenOnLoopback(t *testing.T) {
	const token = "sidecar-write-token-0123456789"
	base, tenant := serveSCIM(t, SidecarOptions{AuthToken: token, AllowWrites: true})
	req := &pluginv1.ProvisionRequest{Email: "dana@example.com", GivenName: "Dana"}
	before := len(tenant.SCIMUsers())
	for name, header := range map[string]string{"none": "", "wrong": "Bearer nope", "basic": "Basic " + token} {
		c := pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithInterceptors(authHeader(header)))
		if _, err := c.Provision(context.Background(), req); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("Provision with %s token on loopback: %v, want unauthenticated", name, err)
		}
	}
	if n := len(tenant.SCIMUsers()); n != before {
		t.Fatalf("%d SCIM users after refused creates, want %d as before", n, before)
	}
	// RFC 6750: the scheme is case-insensitive.
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		c := pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithInterceptors(authHeader(scheme+" "+token)))
		resp, err := c.Provision(context.Background(), req)
		if err != nil {
			t.Errorf("Provision with %q: %v", scheme+" <token>", err)
			continue
		}
		if resp.GetOutcome() == pluginv1.ProvisionResponse_OUTCOME_UNSPECIFIED {
			t.Errorf("Provision with %q: no outcome", scheme)
		}
		info, err := c.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
		if err != nil || !info.GetFeatures().GetProvisioning() {
			t.Errorf("GetInfo with the token = %v, %v; want provisioning on", info.GetFeatures(), err)
		}
	}
	if n := len(tenant.SCIMUsers()); n != before+1 {
		t.Errorf("%d SCIM users after three creates of one email, want %d", n, before+1)
	}
}

// countingBody is an endless request body that counts what the client sent.
type countingBody struct {
	sent  atomic.Int64
	limit int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	left := b.limit - b.sent.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > left {
		n = left
	}
	clear(p[:n])
	b.sent.Add(n)
	return int(n), nil
}

// post sends body to a procedure the way curl --json does and returns the
// HTTP status (0 when the exchange failed before an answer).
func post(t *testing.T, url string, body io.Reader, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Logf("POST %s: %v", url, err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestBodiesAreNotReadBeforeTheTokenAndAreCapped(t *testing.T) {
	const token = "sidecar-body-token-0123456789"
	base, _ := serveSCIM(t, SidecarOptions{AuthToken: token})
	url := base + pluginv1connect.PluginServiceListMembersProcedure
	const huge = 200 << 20

	// Without the token: refused from the headers; the body stays unread
	// (what the client got out is only what the sockets' buffers took).
	body := &countingBody{limit: huge}
	if code := post(t, url, body, nil); code != http.StatusUnauthorized {
		t.Errorf("200 MB POST without the token: HTTP %d, want 401", code)
	}
	if sent := body.sent.Load(); sent > 16<<20 {
		t.Errorf("the client got %d MB of the unauthenticated body out, want the sidecar to stop reading at once (under 16 MB)", sent>>20)
	}

	// With the token, a body past the cap is refused too.
	body = &countingBody{limit: huge}
	code := post(t, url, body, http.Header{"Authorization": {"Bearer " + token}})
	if code != 0 && (code < 400 || code > 499) {
		t.Errorf("200 MB POST with the token: HTTP %d, want a 4xx", code)
	}
	if sent := body.sent.Load(); sent > 16<<20 {
		t.Errorf("the client got %d MB of an oversized body out, want it cut near %d KiB", sent>>20, maxRequestBytes>>10)
	}
	// And a legitimate request still works.
	c := pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithInterceptors(authHeader("Bearer "+token)))
	if _, err := c.ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageSize: 5}); err != nil {
		t.Errorf("ListMembers with the token after the big bodies: %v", err)
	}
}

func TestCompressedBodiesAreCappedOnceDecompressed(t *testing.T) {
	base, _ := serveSCIM(t, SidecarOptions{})
	// A page token of 1 MiB gzips to about 1 KiB: under the wire cap, over the message cap.
	c := pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithSendGzip())
	_, err := c.ListMembers(context.Background(), &pluginv1.ListMembersRequest{PageToken: strings.Repeat("a", 1<<20)})
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeResourceExhausted {
		t.Errorf("a gzipped 1 MiB request: %v, want resource_exhausted", err)
	}
}
