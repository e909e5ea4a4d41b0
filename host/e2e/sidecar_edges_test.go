//go:build linux

package e2e

// The sidecar's and the public package's edges, through the real binaries
// (issue 10): writes need --allow-provisioning and the token, a huge
// unauthenticated body costs no memory, and a plugin started through
// plugin/handshake never sees its host's BATON_* settings.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// scPost POSTs a Connect JSON body to a procedure, as curl --json does, and
// returns the status and the answer's body (status 0: no answer).
func scPost(t *testing.T, base, procedure string, body io.Reader, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(scCtx(t), http.MethodPost, base+"/"+scService+"/"+procedure, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Logf("POST %s: %v", req.URL, err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// vmHWM is a process's peak resident set size in bytes, from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := readProcFile(pid, "status")
	if err != nil {
		t.Fatalf("read /proc/%d/status: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no VmHWM line", pid)
	return 0
}

// zeros is an endless body of n zero bytes that counts what was taken.
type zeros struct{ left, taken atomic.Int64 }

func newZeros(n int64) *zeros { z := &zeros{}; z.left.Store(n); return z }

func (z *zeros) Read(p []byte) (int, error) {
	left := z.left.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), left)
	clear(p[:n])
	z.left.Add(-n)
	z.taken.Add(n)
	return int(n), nil
}

func TestSidecarHugeUnauthenticatedBodyCostsNoMemory(t *testing.T) {
	t.Parallel()
	_, srv := newTenant(t, simulator.Config{Members: 20})
	tok := scToken()
	p, base := scServe(t, scSettings(testKey(), srv.URL), "--listen", "127.0.0.1:0", "--auth-token-file", scWriteToken(t, tok))
	before := vmHWM(t, p.pid())

	body := newZeros(200 << 20)
	start := time.Now()
	code, answer := scPost(t, base, "ListMembers", body, nil)
	took := time.Since(start)
	grew := vmHWM(t, p.pid()) - before
	t.Logf("200 MB POST without the token: HTTP %d in %v; %d MB of it sent; sidecar peak RSS %d MB -> +%d KB",
		code, took.Round(time.Millisecond), body.taken.Load()>>20, before>>20, grew>>10)
	if code != http.StatusUnauthorized || !bytes.Contains(answer, []byte("unauthenticated")) {
		t.Errorf("200 MB POST without the token: HTTP %d %.200s, want 401 unauthenticated", code, answer)
	}
	if grew >= 20<<20 {
		t.Errorf("the sidecar's peak RSS grew by %d MB for an unauthenticated body, want under 20 MB", grew>>20)
	}
	if taken := body.taken.Load(); taken >= 100<<20 {
		t.Errorf("the sidecar took %d MB of the body before refusing, want it refused from the headers", taken>>20)
	}
	// It still serves afterwards.
	if code, b := scPost(t, base, "ListMembers", strings.NewReader(`{"pageSize":3}`), http.Header{"Authorization": {"Bearer " + tok}}); code != http.StatusOK {
		t.Errorf("ListMembers with the token afterwards: HTTP %d %s", code, b)
	}
}

func TestSidecarWritesNeedTheFlagAndTheToken(t *testing.T) {
	t.Parallel()
	scimToken := scimTestToken()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 20, Seed: 3})
	env := append(scSettings(testKey(), base), scimEnv(base, scimToken)...)
	mallory := `{"email":"mallory@evil.example"}`

	t.Run("without --allow-provisioning writes are refused on loopback", func(t *testing.T) {
		p, sc := scServe(t, env, "--listen", "127.0.0.1:0")
		users := len(tenant.SCIMUsers())
		victim := tenant.SCIMUsers()[0].UserName
		for proc, body := range map[string]string{"Provision": mallory, "Deprovision": `{"email":"` + victim + `"}`} {
			code, answer := scPost(t, sc, proc, strings.NewReader(body), nil)
			if code != http.StatusForbidden || !bytes.Contains(answer, []byte("permission_denied")) || !bytes.Contains(answer, []byte("--allow-provisioning")) {
				t.Errorf("%s: HTTP %d %s, want 403 permission_denied naming --allow-provisioning", proc, code, answer)
			}
		}
		if got := len(tenant.SCIMUsers()); got != users || len(scimUsersNamed(tenant, victim)) != 1 {
			t.Errorf("SCIM users %d -> %d; a refused write changed the directory", users, got)
		}
		code, answer := scPost(t, sc, "GetInfo", strings.NewReader(`{}`), nil)
		if code != http.StatusOK || bytes.Contains(answer, []byte(`"provisioning":true`)) {
			t.Errorf("GetInfo: HTTP %d %s, want 200 without provisioning", code, answer)
		}
		if _, ok := anyLine(p.stderr.String(), `"provisioning":false`); !ok {
			t.Errorf("the start line does not say provisioning is off:\n%s", p.output())
		}
	})

	t.Run("--allow-provisioning without a token refuses to start", func(t *testing.T) {
		_, url, requests := scTenant(t, simulator.Config{Members: 5})
		p := scLaunch(t, append(scSettings(testKey(), url), scimEnv(url, scimToken)...), "serve", "--listen", "127.0.0.1:0", "--allow-provisioning")
		if code, _ := p.waitExit(t, 10*time.Second); code == 0 {
			t.Errorf("exit 0, want non-zero;\n%s", p.output())
		}
		lines := scLines(p.stderr.String())
		if len(lines) != 1 || !strings.Contains(lines[0], "--auth-token-file") {
			t.Errorf("stderr %q, want one line naming --auth-token-file", lines)
		}
		if n := requests.Load(); n != 0 {
			t.Errorf("the tenant got %d requests, want 0", n)
		}
	})

	t.Run("--allow-provisioning with a token", func(t *testing.T) {
		tok := scToken()
		tokenFile := scWriteToken(t, tok)
		if err := os.Chmod(tokenFile, 0o644); err != nil {
			t.Fatal(err)
		}
		p, sc := scServe(t, env, "--listen", "127.0.0.1:0", "--auth-token-file", tokenFile, "--allow-provisioning")
		if _, ok := anyLine(p.stderr.String(), "can be read by other users", "chmod 600"); !ok {
			t.Errorf("no warning about the 0644 token file:\n%s", p.output())
		}
		users := len(tenant.SCIMUsers())
		if code, answer := scPost(t, sc, "Provision", strings.NewReader(mallory), nil); code != http.StatusUnauthorized {
			t.Errorf("Provision without the token on loopback: HTTP %d %s, want 401", code, answer)
		}
		if got := len(tenant.SCIMUsers()); got != users {
			t.Errorf("SCIM users %d -> %d after a refused create", users, got)
		}
		// RFC 6750: the scheme is case-insensitive.
		code, answer := scPost(t, sc, "Provision", strings.NewReader(`{"email":"dana@example.com"}`), http.Header{"Authorization": {"bearer " + tok}})
		if code != http.StatusOK || len(scimUsersNamed(tenant, "dana@example.com")) != 1 {
			t.Errorf("Provision with the token: HTTP %d %s; SCIM users named dana: %d, want 1", code, answer, len(scimUsersNamed(tenant, "dana@example.com")))
		}
		code, answer = scPost(t, sc, "GetInfo", strings.NewReader(`{}`), http.Header{"Authorization": {"Bearer " + tok}})
		if code != http.StatusOK || !bytes.Contains(answer, []byte(`"provisioning":true`)) {
			t.Errorf("GetInfo: HTTP %d %s, want provisioning true", code, answer)
		}
		requireNoSecret(t, "the sidecar's output", []byte(p.stdout.String()+p.stderr.String()), tok)
	})
}

// TestPublicPackageKeepsHostSettingsFromThePlugin starts the plugin as a
// third-party gateway would, through handshake.ClientConfig with a plain
// exec.Command, while the gateway's own environment holds BATON_* secrets.
func TestPublicPackageKeepsHostSettingsFromThePlugin(t *testing.T) {
	secret := "crsr_" + strings.Repeat("gatewayOwnKey", 5)
	t.Setenv("BATON_CURSOR_API_KEY", secret)
	t.Setenv("BATON_CLIENT_SECRET", "c1-secret-of-the-gateway")
	t.Setenv("GATEWAY_MARKER", "kept")

	client := plugin.NewClient(handshake.ClientConfig(exec.Command(pluginBin), hclog.NewNullLogger()))
	t.Cleanup(client.Kill)
	svc, err := handshake.Dispense(client)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	if _, err := svc.GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	pid := client.ReattachConfig().Pid
	environ, err := readProcFile(pid, "environ")
	if err != nil {
		t.Fatalf("read the plugin's environ: %v", err)
	}
	vars := strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00")
	for _, kv := range vars {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BATON_") && name != handshake.Config.MagicCookieKey {
			t.Errorf("the plugin's environment holds its host's %s", name)
		}
	}
	requireNoSecret(t, fmt.Sprintf("/proc/%d/environ of the plugin", pid), environ, secret)
	if !bytes.Contains(environ, []byte("GATEWAY_MARKER=kept")) {
		t.Errorf("the plugin lost the host's other variables (proxy settings, TMPDIR, …): %d variables", len(vars))
	}
}

// TestGatewayFailureStopsItsPlugin: the example gateway fails (a wrong key)
// and must have stopped its plugin by the time it exits.
func TestGatewayFailureStopsItsPlugin(t *testing.T) {
	t.Parallel()
	gw := filepath.Join(t.TempDir(), "gateway")
	build := exec.Command("go", "build", "-o", gw, "./examples/gateway")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/gateway: %v\n%s", err, out)
	}
	_, srv := newTenant(t, simulator.Config{Members: 5})
	marker := fmt.Sprintf("GATEWAY_RUN=%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command(gw, "-plugin", pluginBin)
	cmd.Env = append(scSettings("crsr_"+strings.Repeat("wrong", 12), srv.URL), marker)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the gateway exited 0 with a wrong key:\n%s", out)
	}
	lines := scLines(string(out))
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "gateway: configure:") {
		t.Errorf("last line %q, want the gateway's one-line error", lines)
	}
	// The plugin carries the gateway's environment (less BATON_*), marker included.
	for _, p := range allProcs() {
		if env, err := readProcFile(p.pid, "environ"); err == nil && bytes.Contains(env, []byte(marker)) && !procGone(p.pid) {
			t.Errorf("the gateway's plugin (pid %d, %v) still runs after the gateway exited", p.pid, p.argv)
		}
	}
}

// TestAttachModeCreateOnAReadOnlySidecar: baton-cursor --plugin-address asks a
// sidecar started without --allow-provisioning to create an account; the run
// fails with PermissionDenied (exit 7) naming the flag, and nothing is created.
func TestAttachModeCreateOnAReadOnlySidecar(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 10, Seed: 4})
	_, sc := scServe(t, append(scSettings(testKey(), base), scimEnv(base, scimTestToken())...), "--listen", "127.0.0.1:0")
	users := len(tenant.SCIMUsers())
	r := runHost(t, runOpts{Args: append([]string{"--plugin-address", sc}, createArgs("mallory@example.com", "M", "E")...)}, 60*time.Second)
	requireFailure(t, r, "--allow-provisioning")
	if code := r.exitCode(); code != 7 {
		t.Errorf("exit code %d, want 7 (PermissionDenied)", code)
	}
	if got := len(tenant.SCIMUsers()); got != users {
		t.Errorf("SCIM users %d -> %d; the read-only sidecar created one", users, got)
	}
}
