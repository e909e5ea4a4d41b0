//go:build linux

package e2e

// End-to-end tests of the sidecar (`baton-cursor-plugin serve`), of the host
// attached to it (`baton-cursor --plugin-address`), of the example go-plugin
// gateway and of `baton-cursor-plugin describe`. Every process is a real
// binary built by TestMain; Cursor is the simulated tenant on loopback.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
	"github.com/conductorone/baton-cursor/internal/c1zread"
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

func TestSidecarExposure(t *testing.T) {
	t.Run("0.0.0.0 without token or TLS is refused before touching Cursor", func(t *testing.T) {
		t.Parallel()
		_, url, requests := scTenant(t, simulator.Config{Members: 20})
		p := scLaunch(t, scSettings(testKey(), url), "serve", "--listen", "0.0.0.0:0")
		code, took := p.waitExit(t, 5*time.Second)
		if code == 0 {
			t.Errorf("exit code 0 after %v, want non-zero;\n%s", took, p.output())
		}
		lines := scLines(p.stderr.String())
		if len(lines) != 1 {
			t.Errorf("stderr has %d lines, want exactly one saying why:\n%s", len(lines), p.stderr.String())
		}
		if len(lines) > 0 {
			line := lines[len(lines)-1]
			if !strings.Contains(line, "--auth-token-file") || !strings.Contains(strings.ToLower(line), "tls") {
				t.Errorf("the refusal does not mention --auth-token-file and TLS: %s", line)
			}
		}
		if out := p.stdout.String(); out != "" {
			t.Errorf("stdout %q, want nothing (no base URL for a refused address)", out)
		}
		if n := requests.Load(); n != 0 {
			t.Errorf("the tenant got %d requests, want 0: the sidecar must refuse before touching Cursor", n)
		}
	})

	t.Run("0.0.0.0 with a token serves", func(t *testing.T) {
		t.Parallel()
		_, srv := newTenant(t, simulator.Config{Members: 20})
		tok := scToken()
		_, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "0.0.0.0:0", "--auth-token-file", scWriteToken(t, tok))
		u := strings.TrimPrefix(base, "http://")
		_, port, err := net.SplitHostPort(u)
		if err != nil {
			t.Fatalf("base URL %q: %v", base, err)
		}
		conn := scGRPC(t, "http://127.0.0.1:"+port)
		ctx := metadata.AppendToOutgoingContext(scCtx(t), "authorization", "Bearer "+tok)
		if _, err := pluginv1.NewPluginServiceClient(conn).GetInfo(ctx, &pluginv1.GetInfoRequest{}); err != nil {
			t.Errorf("GetInfo with the token on 0.0.0.0: %v", err)
		}
	})

	t.Run("token file on loopback", func(t *testing.T) {
		t.Parallel()
		_, srv := newTenant(t, simulator.Config{Members: 30})
		tok := scToken()
		p, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0", "--auth-token-file", scWriteToken(t, tok))
		conn := scGRPC(t, base)
		svc := pluginv1.NewPluginServiceClient(conn)
		ctx := scCtx(t)
		req := &pluginv1.ListMembersRequest{PageSize: 5}

		if _, err := svc.ListMembers(ctx, req); status.Code(err) != codes.Unauthenticated {
			t.Errorf("ListMembers without the token: %v (code %v), want Unauthenticated", err, status.Code(err))
		}
		wrong := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok+"x")
		if _, err := svc.ListMembers(wrong, req); status.Code(err) != codes.Unauthenticated {
			t.Errorf("ListMembers with a wrong token: %v (code %v), want Unauthenticated", err, status.Code(err))
		}
		good := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
		if resp, err := svc.ListMembers(good, req); err != nil {
			t.Errorf("ListMembers with Authorization: Bearer <token>: %v", err)
		} else if len(resp.GetMembers()) != 5 {
			t.Errorf("ListMembers with the token: %d members, want 5", len(resp.GetMembers()))
		}
		// Reflection is protected too (it tells what the sidecar serves).
		refl, err := reflectv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err == nil {
			err = refl.Send(&reflectv1.ServerReflectionRequest{MessageRequest: &reflectv1.ServerReflectionRequest_ListServices{}})
			if err == nil || errors.Is(err, io.EOF) {
				_, err = refl.Recv()
			}
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("reflection without the token: %v (code %v), want Unauthenticated", err, status.Code(err))
		}
		// Health stays open for probes.
		if resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Errorf("health without the token: %v", err)
		} else if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health without the token: %v, want SERVING", resp.GetStatus())
		}
		// curl without and with the header.
		if code, body := scRawListMembers(t, base, `{"pageSize":5}`, nil); code != http.StatusUnauthorized || !bytes.Contains(body, []byte("unauthenticated")) {
			t.Errorf("curl-style POST without the token: HTTP %d %s, want 401 unauthenticated", code, body)
		}
		if code, body := scRawListMembers(t, base, `{"pageSize":5}`, http.Header{"Authorization": {"Bearer " + tok}}); code != http.StatusOK {
			t.Errorf("curl-style POST with the token: HTTP %d %s, want 200", code, body)
		}
		requireNoSecret(t, "the sidecar's output", []byte(p.stdout.String()+p.stderr.String()), tok)
	})

	t.Run("unreadable token file", func(t *testing.T) {
		t.Parallel()
		_, url, requests := scTenant(t, simulator.Config{Members: 20})
		cases := map[string]string{
			"missing":   filepath.Join(t.TempDir(), "no-such.token"),
			"directory": t.TempDir(),
		}
		for name, path := range cases {
			p := scLaunch(t, scSettings(testKey(), url), "serve", "--listen", "127.0.0.1:0", "--auth-token-file", path)
			code, _ := p.waitExit(t, 5*time.Second)
			if code == 0 {
				t.Errorf("%s token file: exit 0, want non-zero;\n%s", name, p.output())
			}
			if _, ok := anyLine(p.stderr.String(), "--auth-token-file"); !ok {
				t.Errorf("%s token file: no stderr line names --auth-token-file;\n%s", name, p.output())
			}
			if p.stdout.String() != "" {
				t.Errorf("%s token file: stdout %q, want nothing", name, p.stdout.String())
			}
		}
		if n := requests.Load(); n != 0 {
			t.Errorf("the tenant got %d requests, want 0", n)
		}
	})
}

// --- 3. graceful shutdown ---

func TestSidecarGracefulShutdown(t *testing.T) {
	_, srv := newTenant(t, simulator.Config{Members: 20})
	p, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0")
	conn := scGRPC(t, base)
	if _, err := pluginv1.NewPluginServiceClient(conn).GetInfo(scCtx(t), &pluginv1.GetInfoRequest{}); err != nil {
		t.Fatalf("GetInfo before SIGTERM: %v", err)
	}
	if err := syscall.Kill(p.pid(), syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	sent := time.Now()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the sidecar still runs 5 s after SIGTERM;\n%s", p.output())
	}
	if code := p.exitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM (in %v), want 0;\n%s", code, time.Since(sent), p.output())
	}
	if c, err := net.DialTimeout("tcp", scTarget(t, base), time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the sidecar exited", base)
	}
}

// --- 4. bad settings ---

func TestSidecarRefusesBadSettings(t *testing.T) {
	t.Run("API key unset", func(t *testing.T) {
		t.Parallel()
		_, url, requests := scTenant(t, simulator.Config{Members: 20})
		p := scLaunch(t, scEnv("BATON_CURSOR_BASE_URL="+url), "serve", "--listen", "127.0.0.1:0")
		code, _ := p.waitExit(t, 10*time.Second)
		if code == 0 {
			t.Errorf("exit code 0, want non-zero;\n%s", p.output())
		}
		lines := scLines(p.stderr.String())
		if len(lines) != 1 || !strings.Contains(lines[0], "BATON_CURSOR_API_KEY") {
			t.Errorf("stderr should be one line naming BATON_CURSOR_API_KEY, got %d lines:\n%s", len(lines), p.stderr.String())
		}
		if p.stdout.String() != "" {
			t.Errorf("stdout %q, want nothing", p.stdout.String())
		}
		if n := requests.Load(); n != 0 {
			t.Errorf("the tenant got %d requests without a key, want 0", n)
		}
	})
	t.Run("wrong API key", func(t *testing.T) {
		t.Parallel()
		_, url, requests := scTenant(t, simulator.Config{Members: 20})
		wrong := "crsr_" + strings.Repeat("W", 64)
		p := scLaunch(t, scSettings(wrong, url), "serve", "--listen", "127.0.0.1:0")
		code, _ := p.waitExit(t, 30*time.Second)
		if code == 0 {
			t.Errorf("exit code 0, want non-zero;\n%s", p.output())
		}
		if last := lastLine(p.stderr.String()); !strings.Contains(last, "Cursor rejected the API key") {
			t.Errorf("the last stderr line does not say \"Cursor rejected the API key\": %s\n%s", last, p.output())
		}
		if p.stdout.String() != "" {
			t.Errorf("stdout %q, want nothing (it must not serve with a rejected key)", p.stdout.String())
		}
		if n := requests.Load(); n < 1 {
			t.Errorf("the tenant got no request: the key was not checked against Cursor")
		}
		requireNoSecret(t, "the sidecar's output", []byte(p.stdout.String()+p.stderr.String()), wrong)
	})
}

// --- 5. attach mode ---

// scAttachArgs are the flags of a one-shot sync through the sidecar at base.
func scAttachArgs(base, c1z string, extra ...string) []string {
	return append([]string{"--plugin-address", base, "-f", c1z}, extra...)
}

func TestAttachModeSync(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 200, Seed: 7})
	_, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0")

	aPath := filepath.Join(t.TempDir(), "a.c1z")
	// No Cursor setting in the host's environment (Key nil, BATON_ stripped).
	ra := runHost(t, runOpts{Args: scAttachArgs(base, aPath)}, 120*time.Second)
	if code := ra.exitCode(); code != 0 {
		t.Fatalf("attached sync exited %d, want 0; output:\n%s", code, tail(ra.out.String(), 30))
	}
	a, err := c1zread.Read(context.Background(), aPath)
	if err != nil {
		t.Fatalf("read %s: %v", aPath, err)
	}
	// The same tenant, synced the usual way (the host starts the plugin).
	b, _, _ := syncOK(t, srv.URL)

	checkSyncMatchesTenant(t, tenant.Members(), a)
	scCompareC1Z(t, a, b)
}

// scCompareC1Z requires two syncs of one tenant to hold the same resources,
// entitlements and grants.
func scCompareC1Z(t *testing.T, a, b *c1zread.Contents) {
	t.Helper()
	resKey := func(r *v2.Resource) string {
		return r.GetId().GetResourceType() + ":" + r.GetId().GetResource()
	}
	bRes := map[string]*v2.Resource{}
	for _, r := range b.Resources {
		bRes[resKey(r)] = r
	}
	if len(a.Resources) != len(b.Resources) {
		t.Errorf("attached sync: %d resources, subprocess sync: %d", len(a.Resources), len(b.Resources))
	}
	for _, ra := range a.Resources {
		k := resKey(ra)
		rb, ok := bRes[k]
		if !ok {
			t.Errorf("resource %s is only in the attached sync", k)
			continue
		}
		delete(bRes, k)
		if ra.GetDisplayName() != rb.GetDisplayName() {
			t.Errorf("resource %s: display name %q (attached) vs %q", k, ra.GetDisplayName(), rb.GetDisplayName())
		}
		if !proto.Equal(ra.GetStatus(), rb.GetStatus()) {
			t.Errorf("resource %s: status %v (attached) vs %v", k, ra.GetStatus(), rb.GetStatus())
		}
		if !proto.Equal(ra.GetProfile(), rb.GetProfile()) {
			t.Errorf("resource %s: profile %v (attached) vs %v", k, ra.GetProfile(), rb.GetProfile())
		}
		if ra.GetDescription() != rb.GetDescription() {
			t.Errorf("resource %s: description %q (attached) vs %q", k, ra.GetDescription(), rb.GetDescription())
		}
		ua, errA := rs.GetUserTrait(ra)
		ub, errB := rs.GetUserTrait(rb)
		if (errA == nil) != (errB == nil) {
			t.Errorf("resource %s: user trait in one sync only (%v / %v)", k, errA, errB)
		} else if errA == nil {
			if !slices.EqualFunc(ua.GetEmails(), ub.GetEmails(), func(x, y *v2.UserTrait_Email) bool { return proto.Equal(x, y) }) {
				t.Errorf("user %s: emails %v (attached) vs %v", k, ua.GetEmails(), ub.GetEmails())
			}
			if !proto.Equal(ua.GetStatus(), ub.GetStatus()) {
				t.Errorf("user %s: trait status %v (attached) vs %v", k, ua.GetStatus(), ub.GetStatus())
			}
			if ua.GetLogin() != ub.GetLogin() || ua.GetAccountType() != ub.GetAccountType() {
				t.Errorf("user %s: login/account type %q/%v (attached) vs %q/%v", k, ua.GetLogin(), ua.GetAccountType(), ub.GetLogin(), ub.GetAccountType())
			}
			if !proto.Equal(ua.GetProfile(), ub.GetProfile()) {
				t.Errorf("user %s: trait profile %v (attached) vs %v", k, ua.GetProfile(), ub.GetProfile())
			}
		}
		rta, errA := rs.GetRoleTrait(ra)
		rtb, errB := rs.GetRoleTrait(rb)
		if (errA == nil) != (errB == nil) {
			t.Errorf("resource %s: role trait in one sync only (%v / %v)", k, errA, errB)
		} else if errA == nil && !proto.Equal(rta.GetProfile(), rtb.GetProfile()) {
			t.Errorf("role %s: profile %v (attached) vs %v", k, rta.GetProfile(), rtb.GetProfile())
		}
	}
	for k := range bRes {
		t.Errorf("resource %s is only in the subprocess sync", k)
	}

	bEnt := map[string]*v2.Entitlement{}
	for _, e := range b.Entitlements {
		bEnt[e.GetId()] = e
	}
	if len(a.Entitlements) != len(b.Entitlements) {
		t.Errorf("attached sync: %d entitlements, subprocess sync: %d", len(a.Entitlements), len(b.Entitlements))
	}
	for _, ea := range a.Entitlements {
		eb, ok := bEnt[ea.GetId()]
		if !ok {
			t.Errorf("entitlement %s is only in the attached sync", ea.GetId())
			continue
		}
		delete(bEnt, ea.GetId())
		if ea.GetDisplayName() != eb.GetDisplayName() || ea.GetPurpose() != eb.GetPurpose() ||
			!proto.Equal(ea.GetResource().GetId(), eb.GetResource().GetId()) ||
			!slices.EqualFunc(ea.GetGrantableTo(), eb.GetGrantableTo(), func(x, y *v2.ResourceType) bool { return x.GetId() == y.GetId() }) {
			t.Errorf("entitlement %s differs:\nattached   %v\nsubprocess %v", ea.GetId(), ea, eb)
		}
	}
	for id := range bEnt {
		t.Errorf("entitlement %s is only in the subprocess sync", id)
	}

	bGrant := map[string]*v2.Grant{}
	for _, g := range b.Grants {
		bGrant[g.GetId()] = g
	}
	if len(a.Grants) != len(b.Grants) {
		t.Errorf("attached sync: %d grants, subprocess sync: %d", len(a.Grants), len(b.Grants))
	}
	for _, ga := range a.Grants {
		gb, ok := bGrant[ga.GetId()]
		if !ok {
			t.Errorf("grant %s is only in the attached sync", ga.GetId())
			continue
		}
		delete(bGrant, ga.GetId())
		if ga.GetEntitlement().GetId() != gb.GetEntitlement().GetId() || !proto.Equal(ga.GetPrincipal().GetId(), gb.GetPrincipal().GetId()) {
			t.Errorf("grant %s differs: %v/%v (attached) vs %v/%v", ga.GetId(),
				ga.GetEntitlement().GetId(), ga.GetPrincipal().GetId(), gb.GetEntitlement().GetId(), gb.GetPrincipal().GetId())
		}
	}
	for id := range bGrant {
		t.Errorf("grant %s is only in the subprocess sync", id)
	}
}

func TestAttachModeProblems(t *testing.T) {
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		tenant, srv := newTenant(t, simulator.Config{Members: 40, Seed: 9})
		tok := scToken()
		_, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0", "--auth-token-file", scWriteToken(t, tok))

		// Without --plugin-token-file: refused, and the output says why.
		noTok := filepath.Join(t.TempDir(), "no-token.c1z")
		r := runHost(t, runOpts{Args: scAttachArgs(base, noTok)}, 60*time.Second)
		if code := r.exitCode(); code == 0 {
			t.Errorf("sync without the sidecar's token exited 0; output:\n%s", tail(r.out.String(), 20))
		}
		_, ok1 := anyLine(r.out.String(), "Unauthenticated")
		_, ok2 := anyLine(r.out.String(), "token")
		if !ok1 && !ok2 {
			t.Errorf("no output line mentions Unauthenticated or the token; output:\n%s", tail(r.out.String(), 20))
		}
		requireNoFinishedSync(t, noTok)

		// With it: the sync works.
		withTok := filepath.Join(t.TempDir(), "token.c1z")
		r = runHost(t, runOpts{Args: scAttachArgs(base, withTok, "--plugin-token-file", scWriteToken(t, tok))}, 120*time.Second)
		if code := r.exitCode(); code != 0 {
			t.Fatalf("sync with --plugin-token-file exited %d; output:\n%s", code, tail(r.out.String(), 30))
		}
		c, err := c1zread.Read(context.Background(), withTok)
		if err != nil {
			t.Fatalf("read %s: %v", withTok, err)
		}
		if got, want := len(c.OfType("user")), len(tenant.Members()); got != want {
			t.Errorf("sync with the token: %d users, want %d", got, want)
		}
		requireNoSecret(t, "the host's output", []byte(r.out.String()), tok)
	})

	t.Run("API key set in the host", func(t *testing.T) {
		t.Parallel()
		_, srv := newTenant(t, simulator.Config{Members: 20})
		_, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0")
		c1z := filepath.Join(t.TempDir(), "out.c1z")
		r := runHost(t, runOpts{Args: scAttachArgs(base, c1z), Key: strPtr(testKey())}, 60*time.Second)
		requireFailure(t, r, "live in the sidecar")
		requireNoFinishedSync(t, c1z)
	})

	t.Run("sidecar not running", func(t *testing.T) {
		t.Parallel()
		addr := "127.0.0.1:" + strconv.Itoa(scFreePort(t))
		c1z := filepath.Join(t.TempDir(), "out.c1z")
		r := runHost(t, runOpts{Args: scAttachArgs("http://"+addr, c1z)}, 30*time.Second)
		requireFailure(t, r, addr)
		requireNoFinishedSync(t, c1z)
	})
}

// --- 6. the example gateway ---

func TestGatewayExample(t *testing.T) {
	gw := filepath.Join(t.TempDir(), "gateway")
	build := exec.Command("go", "build", "-o", gw, "./examples/gateway")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/gateway: %v\n%s", err, out)
	}

	tenant, srv := newTenant(t, simulator.Config{Members: 2500, Seed: 13})
	cmd := exec.Command(gw, "-plugin", pluginBin)
	cmd.Dir = t.TempDir()
	cmd.Env = scSettings(testKey(), srv.URL)
	var stdout, stderr syncBuf
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("gateway: %v; stderr:\n%s", err, tail(stderr.String(), 20))
		}
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("gateway did not finish in 60 s; stderr:\n%s", tail(stderr.String(), 20))
	}

	want := map[string]bool{}
	for _, m := range tenant.Members() {
		want[strings.ToLower(m.Email)] = true
	}
	if len(want) <= 1000 {
		t.Fatalf("tenant has %d distinct emails; the test needs several pages of 1000", len(want))
	}
	lines := scLines(stdout.String())
	got := map[string]int{}
	for _, l := range lines {
		key, _, _ := strings.Cut(l, "\t")
		got[key]++
	}
	for k, n := range got {
		if !want[k] {
			t.Errorf("gateway printed %q, not a member's lower-cased email", k)
		}
		if n != 1 {
			t.Errorf("gateway printed %q %d times", k, n)
		}
	}
	missing := 0
	for k := range want {
		if got[k] == 0 {
			if missing < 5 {
				t.Errorf("gateway did not print member %q", k)
			}
			missing++
		}
	}
	if len(lines) != len(want) || missing > 0 {
		t.Errorf("gateway printed %d lines (%d missing), want %d: one per distinct member email", len(lines), missing, len(want))
	}
}

// --- 7. describe ---

func TestDescribe(t *testing.T) {
	p := scLaunch(t, nil, "describe") // empty environment, no tenant anywhere
	code, took := p.waitExit(t, 2*time.Second)
	if code != 0 {
		t.Fatalf("describe exited %d;\n%s", code, p.output())
	}
	t.Logf("describe took %v", took)
	var d struct {
		Name             string   `json:"name"`
		ProtocolVersions []int    `json:"protocol_versions"`
		Services         []string `json:"services"`
		RPCs             []string `json:"rpcs"`
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &d); err != nil {
		t.Fatalf("describe printed no valid JSON: %v\n%s", err, p.stdout.String())
	}
	if d.Name != "baton-cursor-plugin" {
		t.Errorf("name %q, want baton-cursor-plugin", d.Name)
	}
	if !slices.Equal(d.ProtocolVersions, []int{1}) {
		t.Errorf("protocol_versions %v, want [1]", d.ProtocolVersions)
	}
	if !slices.Equal(d.Services, []string{scService}) {
		t.Errorf("services %v, want [%s]", d.Services, scService)
	}
	var want []string
	for _, m := range []string{"Configure", "GetInfo", "ListMembers", "ListRoles", "Provision", "Deprovision", "ListAuditEvents",
		"ListOrgMembers", "ListOrgTeams", "ListOrgGroups", "ListOrgGroupMembers", "AddOrgGroupMember", "RemoveOrgGroupMember", "AddOrgTeamMember", "RemoveOrgTeamMember"} {
		want = append(want, "/"+scService+"/"+m)
	}
	got := slices.Clone(d.RPCs)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rpcs %v, want %v", d.RPCs, want)
	}
	if s := p.stderr.String(); s != "" {
		t.Errorf("describe wrote to stderr: %q", s)
	}
}

// --- 8. the secret stays in the sidecar ---

// scHoldProxy forwards TCP connections to target, but only after release is
// closed, so the test can look at the processes of a host that is mid-call.
type scHoldProxy struct {
	ln       net.Listener
	accepted chan struct{}
	release  chan struct{}
	once     sync.Once
}

func scNewHoldProxy(t *testing.T, target string) *scHoldProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &scHoldProxy{ln: ln, accepted: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.once.Do(func() { close(p.accepted) })
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				<-p.release
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	t.Cleanup(func() {
		p.open()
		ln.Close()
	})
	return p
}

func (p *scHoldProxy) open() {
	select {
	case <-p.release:
	default:
		close(p.release)
	}
}

func TestAttachModeKeepsTheSecretInTheSidecar(t *testing.T) {
	key := secretKey()
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 5, APIKey: key})
	side, base := scServe(t, scSettings(key, srv.URL), "--listen", "127.0.0.1:0", "--log-level", "debug")

	// The sidecar holds the key in its environment (which shows the /proc
	// reading below works) but not on its command line.
	if env, err := readProcFile(side.pid(), "environ"); err != nil {
		t.Fatalf("read sidecar environ: %v", err)
	} else if !bytes.Contains(env, []byte(key)) {
		t.Fatalf("the sidecar's /proc environ does not hold the key it was started with; the checks below would prove nothing")
	}
	if cmdline, err := readProcFile(side.pid(), "cmdline"); err != nil {
		t.Fatalf("read sidecar cmdline: %v", err)
	} else {
		requireNoSecret(t, "the sidecar's command line", cmdline, key)
	}

	proxy := scNewHoldProxy(t, scTarget(t, base))
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := startHost(t, runOpts{Args: scAttachArgs("http://"+proxy.ln.Addr().String(), c1z, "--log-level", "debug")})

	// While the host's first call to the sidecar is held, read the
	// environment and command line of every host process.
	select {
	case <-proxy.accepted:
	case <-r.done:
		t.Fatalf("the host exited (code %d) before calling the sidecar; output:\n%s", r.exitCode(), tail(r.out.String(), 30))
	case <-time.After(60 * time.Second):
		t.Fatalf("the host did not call the sidecar within 60 s; output:\n%s", tail(r.out.String(), 30))
	}
	procs := processTree(r.cmd.Process.Pid)
	if len(procs) == 0 {
		t.Fatalf("no live host process found under %d", r.cmd.Process.Pid)
	}
	for _, p := range procs {
		where := fmt.Sprintf("host process %d %q", p.pid, p.argv)
		if slices.Contains(p.argv, pluginBin) || (len(p.argv) > 0 && p.argv[0] == pluginBin) {
			t.Errorf("%s: the host started a plugin subprocess in attach mode", where)
		}
		env, err := readProcFile(p.pid, "environ")
		if err != nil {
			t.Errorf("%s: read environ: %v", where, err)
			continue
		}
		requireNoSecret(t, "the environment of "+where, env, key)
		if bytes.Contains(env, []byte("BATON_CURSOR_API_KEY=")) {
			t.Errorf("the environment of %s holds BATON_CURSOR_API_KEY", where)
		}
		requireNoSecret(t, "the command line of "+where, []byte(strings.Join(p.argv, "\x00")), key)
	}
	t.Logf("checked %d host processes", len(procs))
	proxy.open()

	r.wait(t, 120*time.Second)
	if code := r.exitCode(); code != 0 {
		t.Fatalf("attached sync exited %d; output:\n%s", code, tail(r.out.String(), 30))
	}
	out := r.out.String()
	requireNoSecret(t, "the host's debug output", []byte(out), key)
	if !strings.Contains(out, `"level":"debug"`) {
		t.Errorf("the host's output has no debug lines; --log-level debug did not take effect")
	}
	requireNoSecret(t, "the sidecar's debug output", []byte(side.stdout.String()+side.stderr.String()), key)
	requireC1ZWithoutSecret(t, c1z, tenant, key)
}
