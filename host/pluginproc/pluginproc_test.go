//go:build linux

package pluginproc

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// Binaries built once by TestMain.
var (
	realPlugin string // baton-cursor-plugin
	v2Plugin   string // testdata/v2plugin: speaks protocol version 2 only
)

const pluginVersion = "pluginproc-test"

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pluginproc-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	realPlugin = filepath.Join(dir, BinaryName)
	v2Plugin = filepath.Join(dir, "v2plugin")
	for _, b := range []struct{ out, pkg string }{
		{realPlugin, "../../plugin/cmd/baton-cursor-plugin"},
		{v2Plugin, "./testdata/v2plugin"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, "-ldflags", "-X main.version="+pluginVersion, b.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

func testKey() string { return "crsr_" + strings.Repeat("pluginprocK3y0", 5)[:64] }

func newTenant(t testing.TB, members int) (*simulator.Tenant, *httptest.Server) {
	t.Helper()
	tenant, err := simulator.New(simulator.Config{Members: members, Seed: 42, APIKey: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return tenant, srv
}

// pluginPID is the pid of the process the Lazy started.
func pluginPID(t testing.TB, l *Lazy) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == nil {
		t.Fatal("the Lazy has no plugin client")
	}
	rc := l.client.ReattachConfig()
	if rc == nil || rc.Pid == 0 {
		t.Fatal("the plugin client has no process")
	}
	return rc.Pid
}

// running reports whether pid is alive and not a zombie.
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

// waitNotRunning polls until pid is gone or limit passes.
func waitNotRunning(pid int, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); ; time.Sleep(10 * time.Millisecond) {
		if !running(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// processesOf lists live pids whose argv[0] is bin.
func processesOf(bin string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if argv0, _, _ := strings.Cut(string(cmdline), "\x00"); argv0 == bin && running(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func TestLazyStartsAndTalksToTheRealPlugin(t *testing.T) {
	// The host's own secrets must not reach the plugin through its environment.
	t.Setenv("BATON_CURSOR_API_KEY", testKey())
	tenant, srv := newTenant(t, 120)
	l := NewLazy(Options{
		Path:     realPlugin,
		Settings: &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: srv.URL},
	})
	t.Cleanup(l.kill)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	svc, err := l.Get(ctx)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if v := l.client.NegotiatedVersion(); v != 1 {
		t.Errorf("negotiated protocol version %d, want 1", v)
	}
	pid := pluginPID(t, l)
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(environ, []byte("BATON_CURSOR_API_KEY")) || bytes.Contains(environ, []byte(testKey())) {
		t.Errorf("the plugin's environment holds the host's BATON_CURSOR_API_KEY")
	}

	info, err := svc.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	if info.GetPluginVersion() != pluginVersion || info.GetProtocolVersion() != 1 {
		t.Errorf("GetInfo: plugin version %q protocol %d, want %q and 1", info.GetPluginVersion(), info.GetProtocolVersion(), pluginVersion)
	}
	members := tenant.Members()
	active, removed := 0, 0
	for _, m := range members {
		if m.IsRemoved {
			removed++
		} else {
			active++
		}
	}
	if got := info.GetTeam(); int(got.GetActiveMembers()) != active || int(got.GetRemovedMembers()) != removed {
		t.Errorf("GetInfo team: %d active, %d removed; want %d and %d", got.GetActiveMembers(), got.GetRemovedMembers(), active, removed)
	}

	resp, err := svc.ListMembers(ctx, &pluginv1.ListMembersRequest{PageSize: 1000, IncludeRemoved: true})
	if err != nil {
		t.Fatalf("ListMembers: %v", err)
	}
	var gotKeys, wantKeys []string
	for _, m := range resp.GetMembers() {
		gotKeys = append(gotKeys, m.GetKey())
	}
	for _, m := range members {
		wantKeys = append(wantKeys, strings.ToLower(m.Email))
	}
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("ListMembers keys (%d) differ from the tenant's lower-cased emails (%d)", len(gotKeys), len(wantKeys))
	}
	if resp.GetNextPageToken() != "" {
		t.Errorf("one page of 1000 covers 120 members, but got next page token %q", resp.GetNextPageToken())
	}

	// A second Get reuses the running, configured plugin.
	svc2, err := l.Get(ctx)
	if err != nil {
		t.Fatalf("second Get: %v", err)
	}
	if _, err := svc2.ListRoles(ctx, &pluginv1.ListRolesRequest{}); err != nil {
		t.Fatalf("ListRoles: %v", err)
	}
	if p2 := pluginPID(t, l); p2 != pid {
		t.Errorf("second Get started another plugin (pid %d, first %d)", p2, pid)
	}
	if n := tenant.Requests("/teams/members"); n != 1 {
		t.Errorf("/teams/members requested %d times, want 1", n)
	}

	l.kill()
	if !waitNotRunning(pid, 5*time.Second) {
		t.Errorf("plugin %d still runs after Kill", pid)
	}
	_, err = l.Get(ctx)
	if err == nil || !strings.Contains(err.Error(), realPlugin) || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("Get after Kill: %v; want an error naming %s and saying it was stopped", err, realPlugin)
	}
	if len(processesOf(realPlugin)) > 0 && slices.Contains(processesOf(realPlugin), pid) {
		t.Errorf("Get after Kill left plugin %d running", pid)
	}
}

func TestCallAfterThePluginDiesNamesThePlugin(t *testing.T) {
	_, srv := newTenant(t, 20)
	l := NewLazy(Options{Path: realPlugin, Settings: &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: srv.URL}})
	t.Cleanup(l.kill)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	svc, err := l.Get(ctx)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	pid := pluginPID(t, l)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !waitNotRunning(pid, 5*time.Second) {
		t.Fatalf("plugin %d survived SIGKILL", pid)
	}
	_, err = svc.ListRoles(ctx, &pluginv1.ListRolesRequest{})
	if err == nil {
		t.Fatal("ListRoles on a dead plugin succeeded")
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, realPlugin) || !strings.Contains(msg, "exited unexpectedly") {
		t.Errorf("ListRoles error %q; want it to name %s and say it exited unexpectedly", msg, realPlugin)
	}
	if code := status.Code(err); code != codes.Aborted {
		t.Errorf("ListRoles error code is %v, want Aborted (Unavailable would be retried by baton-sdk forever)", code)
	}
}

func TestVersionMismatchIsRefused(t *testing.T) {
	tenant, srv := newTenant(t, 20)
	l := NewLazy(Options{Path: v2Plugin, Settings: &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: srv.URL}})
	t.Cleanup(l.kill)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	start := time.Now()
	_, err := l.Get(ctx)
	if err == nil {
		t.Fatal("Get succeeded with a plugin that speaks only protocol version 2")
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("Get took %v to refuse the plugin", time.Since(start))
	}
	msg := err.Error()
	if !strings.Contains(msg, v2Plugin) {
		t.Errorf("error does not name the plugin path %s: %s", v2Plugin, msg)
	}
	if !strings.Contains(msg, "incompatible API version") {
		t.Errorf("error does not say the protocol versions do not match: %s", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(processesOf(v2Plugin)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the refused plugin still runs: pids %v", processesOf(v2Plugin))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := tenant.Requests("/teams/members"); n != 0 {
		t.Errorf("the refused plugin was configured: /teams/members requested %d times", n)
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "my-plugin")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope", BinaryName)

	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"missing", missing, []string{missing, "no such file"}},
		{"directory", dir, []string{dir, "directory"}},
		{"not executable", plain, []string{plain, "not executable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Locate(tc.path)
			if err == nil {
				t.Fatalf("Locate(%q) = %q, want an error", tc.path, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Locate(%q) error %q does not mention %q", tc.path, err, w)
				}
			}
			if !strings.Contains(err.Error(), "plugin-path") {
				t.Errorf("Locate(%q) error %q does not name the plugin-path setting", tc.path, err)
			}
			if code := status.Code(err); code != codes.FailedPrecondition {
				t.Errorf("Locate(%q) code %v, want FailedPrecondition", tc.path, code)
			}
		})
	}

	t.Run("explicit executable", func(t *testing.T) {
		got, err := Locate(exe)
		if err != nil || got != exe {
			t.Errorf("Locate(%q) = %q, %v; want the path back", exe, got, err)
		}
	})

	t.Run("on PATH", func(t *testing.T) {
		bin := t.TempDir()
		onPath := filepath.Join(bin, BinaryName)
		if err := os.WriteFile(onPath, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", t.TempDir()+string(os.PathListSeparator)+bin)
		got, err := Locate("")
		if err != nil || got != onPath {
			t.Errorf("Locate(\"\") = %q, %v; want %q from PATH", got, err, onPath)
		}
	})

	t.Run("nowhere", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		got, err := Locate("")
		if err == nil {
			t.Fatalf("Locate(\"\") = %q with an empty PATH, want an error", got)
		}
		if !strings.Contains(err.Error(), "cannot find "+BinaryName) || !strings.Contains(err.Error(), "--plugin-path") {
			t.Errorf("error %q should say it cannot find %s and mention --plugin-path", err, BinaryName)
		}
	})
}

func TestPluginEnv(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin:/bin",
		"HOME=/home/someone",
		"BATON_CURSOR_API_KEY=" + testKey(),
		"BATON_CLIENT_SECRET=secret-token",
		"BATON_LOG_LEVEL=debug",
		"MY_BATON_THING=kept",
		"BATON_CURSOR_PLUGIN_LOG_LEVEL=trace", // inherited: must be replaced, not duplicated
	}
	for _, tc := range []struct {
		name   string
		logger *zap.Logger
		level  string
	}{
		{"info", zap.NewNop(), "info"},
		{"debug", zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&bytes.Buffer{}), zap.DebugLevel)), "debug"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := pluginEnv(environ, tc.logger)
			for _, kv := range env {
				if strings.HasPrefix(kv, "BATON_") && !strings.HasPrefix(kv, "BATON_CURSOR_PLUGIN_LOG_LEVEL=") {
					t.Errorf("plugin environment keeps %s", kv)
				}
				if strings.Contains(kv, testKey()) || strings.Contains(kv, "secret-token") {
					t.Errorf("plugin environment holds a secret: %s", kv)
				}
			}
			for _, keep := range []string{"PATH=/usr/bin:/bin", "HOME=/home/someone", "MY_BATON_THING=kept"} {
				if !slices.Contains(env, keep) {
					t.Errorf("plugin environment lost %s: %v", keep, env)
				}
			}
			var levels []string
			for _, kv := range env {
				if v, ok := strings.CutPrefix(kv, "BATON_CURSOR_PLUGIN_LOG_LEVEL="); ok {
					levels = append(levels, v)
				}
			}
			if !slices.Equal(levels, []string{tc.level}) {
				t.Errorf("plugin log level entries %v, want exactly [%s]", levels, tc.level)
			}
		})
	}
}
