//go:build linux

package e2e

// End-to-end tests of the sidecar (`baton-cursor-plugin serve`), of the host
// attached to it (`baton-cursor --plugin-address`), of the example go-plugin
// gateway and of `baton-cursor-plugin describe`. Every process is a real
// binary built by TestMain; Cursor is the simulated tenant on loopback.

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const scService = "cursor.plugin.v1.PluginService"

// --- sidecar process helpers ---

// scProc is one started `baton-cursor-plugin` process.
type scProc struct {
	cmd    *exec.Cmd
	stdout *syncBuf
	stderr *syncBuf
	start  time.Time
	done   chan struct{}
}

// scEnv is the test's environment without any BATON_ variable, plus extra.
func scEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BATON_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// scSettings is the sidecar environment for a tenant at baseURL with key.
func scSettings(key, baseURL string) []string {
	return scEnv("BATON_CURSOR_API_KEY="+key, "BATON_CURSOR_BASE_URL="+baseURL)
}

// scLaunch starts the plugin binary with args and env (nil env = empty
// environment) in its own process group; cleanup kills that group.
func scLaunch(t *testing.T, env []string, args ...string) *scProc {
	t.Helper()
	p := &scProc{stdout: &syncBuf{}, stderr: &syncBuf{}, done: make(chan struct{})}
	p.cmd = exec.Command(pluginBin, args...)
	p.cmd.Dir = t.TempDir()
	if env == nil {
		env = []string{}
	}
	p.cmd.Env = env
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = 5 * time.Second
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", pluginBin, err)
	}
	pgid := p.cmd.Process.Pid
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("plugin process %d did not end after SIGKILL of its group", pgid)
		}
	})
	return p
}

func (p *scProc) pid() int { return p.cmd.Process.Pid }

func (p *scProc) output() string {
	return "stdout:\n" + tail(p.stdout.String(), 20) + "\nstderr:\n" + tail(p.stderr.String(), 20)
}

func (p *scProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit status once the process ended (-1 when killed).
func (p *scProc) exitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// waitExit waits up to limit for the process to end and returns its exit
// code; past limit it kills the group and fails the test.
func (p *scProc) waitExit(t *testing.T, limit time.Duration) (int, time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), time.Since(p.start)
	case <-time.After(limit - time.Since(p.start)):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
		t.Fatalf("baton-cursor-plugin %s did not exit within %v;\n%s", strings.Join(p.cmd.Args[1:], " "), limit, p.output())
		return -1, 0
	}
}

// waitBase polls stdout for the first line, the sidecar's base URL.
func (p *scProc) waitBase(t *testing.T, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if line, _, ok := strings.Cut(p.stdout.String(), "\n"); ok {
			base := strings.TrimSpace(line)
			if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
				t.Fatalf("the sidecar's first stdout line is %q, want its base URL", line)
			}
			return base
		}
		if p.exited() {
			t.Fatalf("the sidecar exited (code %d) before printing its base URL;\n%s", p.exitCode(), p.output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sidecar printed no base URL within %v;\n%s", limit, p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scServe starts `baton-cursor-plugin serve args…` with env and returns it
// with its base URL.
func scServe(t *testing.T, env []string, args ...string) (*scProc, string) {
	t.Helper()
	p := scLaunch(t, env, append([]string{"serve"}, args...)...)
	return p, p.waitBase(t, 30*time.Second)
}

// scTenant is newTenant plus a count of every HTTP request the tenant got.
func scTenant(t *testing.T, cfg simulator.Config) (*simulator.Tenant, string, *atomic.Int64) {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey()
	}
	tenant, err := simulator.New(cfg)
	if err != nil {
		t.Fatalf("simulator.New: %v", err)
	}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		tenant.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return tenant, srv.URL, &n
}

// scTarget is host:port of a base URL, for grpc-go.
func scTarget(t *testing.T, base string) string {
	t.Helper()
	target, ok := strings.CutPrefix(base, "http://")
	if !ok {
		t.Fatalf("base URL %q is not http://", base)
	}
	return strings.TrimSuffix(target, "/")
}

// scGRPC dials the sidecar with grpc-go, insecure, as grpcurl -plaintext does.
func scGRPC(t *testing.T, base string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(scTarget(t, base), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", base, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// scH2C is an HTTP client speaking HTTP/2 without TLS, as gRPC needs.
func scH2C() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 30 * time.Second}
}

func scCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// scLines are the non-empty lines of s.
func scLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// scKeys lists the keys of a page.
func scKeys(ms []*pluginv1.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.GetKey()
	}
	return out
}

// scRawListMembers is what the README's curl recipe does: a Connect JSON POST.
func scRawListMembers(t *testing.T, base, body string, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(scCtx(t), http.MethodPost,
		base+"/"+scService+"/ListMembers", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response of %s: %v", req.URL, err)
	}
	return resp.StatusCode, b
}

// scFreePort returns a loopback port nothing listens on (it was just closed).
func scFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// scWriteToken writes a bearer token file and returns its path.
func scWriteToken(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sidecar.token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// scToken is a realistic bearer token, built in code.
func scToken() string { return "sct_" + strings.Repeat("Tok3n", 8) }

// --- 1. protocols ---

func TestSidecarProtocols(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 60, Seed: 21})
	_, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0")

	// The first page as the contract defines it: active members by key.
	var active []string
	seen := map[string]bool{}
	for _, m := range tenant.Members() {
		k := strings.ToLower(m.Email)
		if !m.IsRemoved && !seen[k] {
			active = append(active, k)
		}
		seen[k] = true
	}
	sort.Strings(active)
	if len(active) <= 10 {
		t.Fatalf("tenant has %d active members; the test needs more than one page of 10", len(active))
	}
	wantKeys := active[:10]

	type page struct {
		keys []string
		next string
	}
	pages := map[string]page{}
	ctx := scCtx(t)
	req := &pluginv1.ListMembersRequest{PageSize: 10}

	conn := scGRPC(t, base)
	grpcClient := pluginv1.NewPluginServiceClient(conn)
	if resp, err := grpcClient.ListMembers(ctx, req); err != nil {
		t.Errorf("grpc-go ListMembers: %v", err)
	} else {
		pages["grpc-go"] = page{scKeys(resp.GetMembers()), resp.GetNextPageToken()}
	}

	connectClients := map[string]pluginv1connect.PluginServiceClient{
		"connect-go gRPC (h2c)": pluginv1connect.NewPluginServiceClient(scH2C(), base, connect.WithGRPC()),
		"connect-go gRPC-Web":   pluginv1connect.NewPluginServiceClient(http.DefaultClient, base, connect.WithGRPCWeb()),
		"connect-go Connect JSON": pluginv1connect.NewPluginServiceClient(http.DefaultClient, base,
			connect.WithProtoJSON()),
	}
	for name, c := range connectClients {
		resp, err := c.ListMembers(ctx, req)
		if err != nil {
			t.Errorf("%s ListMembers: %v", name, err)
			continue
		}
		pages[name] = page{scKeys(resp.GetMembers()), resp.GetNextPageToken()}
	}

	code, body := scRawListMembers(t, base, `{"pageSize":10}`, nil)
	if code != http.StatusOK {
		t.Errorf("curl-style JSON POST: HTTP %d, body %s", code, body)
	} else {
		var resp pluginv1.ListMembersResponse
		if err := protojson.Unmarshal(body, &resp); err != nil {
			t.Errorf("curl-style JSON POST: response is not a ListMembersResponse in JSON: %v\n%s", err, body)
		} else {
			pages["curl-style JSON POST"] = page{scKeys(resp.GetMembers()), resp.GetNextPageToken()}
		}
	}

	if len(pages) != 5 {
		t.Errorf("only %d of 5 clients got a page: %v", len(pages), keys(pages))
	}
	ref := pages["grpc-go"]
	for name, p := range pages {
		if !slices.Equal(p.keys, wantKeys) {
			t.Errorf("%s: first page keys %v, want %v", name, p.keys, wantKeys)
		}
		if p.next == "" {
			t.Errorf("%s: no next page token after 10 of %d members", name, len(active))
		}
		if p.next != ref.next {
			t.Errorf("%s: next token %q differs from grpc-go's %q", name, p.next, ref.next)
		}
	}
	// The token works across protocols: grpc-go's token, Connect JSON's second page.
	if ref.next != "" {
		resp, err := connectClients["connect-go Connect JSON"].ListMembers(ctx,
			&pluginv1.ListMembersRequest{PageSize: 10, PageToken: ref.next})
		if err != nil {
			t.Errorf("second page with grpc-go's token over Connect JSON: %v", err)
		} else if got := scKeys(resp.GetMembers()); !slices.Equal(got, active[10:min(20, len(active))]) {
			t.Errorf("second page keys %v, want %v", got, active[10:min(20, len(active))])
		}
	}

	t.Run("reflection", func(t *testing.T) {
		want := []string{scService, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
			"grpc.reflection.v1alpha.ServerReflection"}
		slices.Sort(want)
		check := func(who string, got []string) {
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s lists services %v, want %v", who, got, want)
			}
		}
		// grpc-go, reflection v1 (what grpcurl tries first).
		s1, err := reflectv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatalf("reflection v1 stream: %v", err)
		}
		if err := s1.Send(&reflectv1.ServerReflectionRequest{MessageRequest: &reflectv1.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatalf("reflection v1 send: %v", err)
		}
		if r, err := s1.Recv(); err != nil {
			t.Errorf("reflection v1 list services: %v", err)
		} else {
			var got []string
			for _, s := range r.GetListServicesResponse().GetService() {
				got = append(got, s.GetName())
			}
			check("grpc-go reflection v1", got)
		}
		_ = s1.CloseSend()
		// grpc-go, reflection v1alpha (older grpcurl and tools).
		s2, err := reflectv1alpha.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatalf("reflection v1alpha stream: %v", err)
		}
		if err := s2.Send(&reflectv1alpha.ServerReflectionRequest{MessageRequest: &reflectv1alpha.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatalf("reflection v1alpha send: %v", err)
		}
		if r, err := s2.Recv(); err != nil {
			t.Errorf("reflection v1alpha list services: %v", err)
		} else {
			var got []string
			for _, s := range r.GetListServicesResponse().GetService() {
				got = append(got, s.GetName())
			}
			check("grpc-go reflection v1alpha", got)
		}
		_ = s2.CloseSend()
		// The service's descriptor is served, so grpcurl can describe and call it.
		s3, err := reflectv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatalf("reflection v1 stream: %v", err)
		}
		if err := s3.Send(&reflectv1.ServerReflectionRequest{MessageRequest: &reflectv1.ServerReflectionRequest_FileContainingSymbol{
			FileContainingSymbol: scService + ".ListMembers"}}); err != nil {
			t.Fatalf("reflection v1 send: %v", err)
		}
		if r, err := s3.Recv(); err != nil || len(r.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
			t.Errorf("reflection v1 file containing %s.ListMembers: %v, %v", scService, err, r)
		}
		_ = s3.CloseSend()
		// connect-go's reflection client over h2c.
		rc := grpcreflect.NewClient(scH2C(), base, connect.WithGRPC())
		stream := rc.NewStream(ctx)
		names, err := stream.ListServices()
		if err != nil {
			t.Errorf("connectrpc grpcreflect ListServices: %v", err)
		} else {
			var got []string
			for _, n := range names {
				got = append(got, string(n))
			}
			check("connectrpc grpcreflect", got)
		}
		_, _ = stream.Close()
	})

	t.Run("health", func(t *testing.T) {
		hc := healthpb.NewHealthClient(conn)
		for _, svc := range []string{"", scService} {
			resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil {
				t.Errorf("grpc-go health Check(%q): %v", svc, err)
			} else if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("grpc-go health Check(%q): %v, want SERVING", svc, resp.GetStatus())
			}
		}
		resp, err := grpchealth.NewClient(http.DefaultClient, base, connect.WithGRPCWeb()).
			Check(ctx, &grpchealth.CheckRequest{Service: scService})
		if err != nil {
			t.Errorf("connect-go gRPC-Web health Check: %v", err)
		} else if resp.Status != grpchealth.StatusServing {
			t.Errorf("connect-go gRPC-Web health Check: %v, want SERVING", resp.Status)
		}
	})

	t.Run("Configure is refused", func(t *testing.T) {
		// Even with the right key and URL: a sidecar is configured only from its environment.
		cfg := &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: srv.URL}
		_, err := grpcClient.Configure(ctx, cfg)
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("grpc-go Configure: %v (code %v), want PermissionDenied", err, status.Code(err))
		}
		_, err = connectClients["connect-go Connect JSON"].Configure(ctx, cfg)
		if connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("Connect JSON Configure: %v (code %v), want permission_denied", err, connect.CodeOf(err))
		}
		// And the sidecar still serves the tenant it was started with.
		info, err := grpcClient.GetInfo(ctx, &pluginv1.GetInfoRequest{})
		if err != nil {
			t.Fatalf("GetInfo after refused Configure: %v", err)
		}
		if !info.GetFeatures().GetSidecar() {
			t.Errorf("GetInfo features.sidecar is false on a sidecar")
		}
	})
}

// --- 2. exposure ---
