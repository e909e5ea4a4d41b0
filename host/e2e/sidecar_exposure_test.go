//go:build linux

// What the sidecar exposes and to whom, how it stops, and the settings it refuses.

package e2e

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

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
