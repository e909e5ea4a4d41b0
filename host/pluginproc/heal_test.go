//go:build linux

package pluginproc

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
)

// newHealingLazy is a Lazy on the real plugin whose restart waits are
// recorded instead of slept, with its log lines observed.
func newHealingLazy(t *testing.T) (*Lazy, *[]time.Duration, *observer.ObservedLogs) {
	t.Helper()
	_, srv := newTenant(t, 20)
	core, logs := observer.New(zap.InfoLevel)
	l := NewLazy(Options{Path: realPlugin, Logger: zap.New(core),
		Settings: &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: srv.URL}})
	var waits []time.Duration
	l.afterFunc = func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		ch := make(chan time.Time, 1)
		ch <- time.Now()
		return ch
	}
	t.Cleanup(l.kill)
	return l, &waits, logs
}

func killPlugin(t testing.TB, l *Lazy) {
	t.Helper()
	pid := pluginPID(t, l)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !waitNotRunning(pid, 5*time.Second) {
		t.Fatalf("plugin %d survived SIGKILL", pid)
	}
	// go-plugin notices the exit a moment after the process is gone.
	for deadline := time.Now().Add(5 * time.Second); !l.client.Exited(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("go-plugin did not notice the plugin's exit")
		}
	}
}

func restartLines(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "starting a fresh plugin") {
			out = append(out, e.Message)
		}
	}
	return out
}

func TestAfterThePluginDiesTheNextGetStartsAFreshOne(t *testing.T) {
	l, waits, logs := newHealingLazy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := l.Get(ctx); err != nil {
		t.Fatalf("Get: %v", err)
	}
	first := pluginPID(t, l)
	killPlugin(t, l)

	svc, err := l.Get(ctx)
	if err != nil {
		t.Fatalf("Get after the plugin died: %v", err)
	}
	if _, err := svc.ListRoles(ctx, &pluginv1.ListRolesRequest{}); err != nil {
		t.Fatalf("ListRoles on the fresh plugin: %v", err)
	}
	if second := pluginPID(t, l); second == first || !running(second) {
		t.Errorf("fresh plugin pid %d (first %d) is not a new running process", second, first)
	}
	if lines := restartLines(logs); len(lines) != 1 || !strings.Contains(lines[0], "exited") {
		t.Errorf("restart log lines %q; want exactly one saying the last plugin exited", lines)
	}
	if len(*waits) != 0 {
		t.Errorf("the first restart waited %v; a plugin's first death is restarted at once", *waits)
	}
	if running(first) {
		t.Errorf("the dead plugin %d is still a process", first)
	}
}

func TestAPluginThatKeepsDyingIsRestartedWithBackoff(t *testing.T) {
	l, waits, logs := newHealingLazy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if _, err := l.Get(ctx); err != nil {
		t.Fatalf("Get: %v", err)
	}
	for range 7 {
		killPlugin(t, l)
		if _, err := l.Get(ctx); err != nil {
			t.Fatalf("Get after a death: %v", err)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, maxRestartDelay}
	if got := *waits; !slices.Equal(got, want) {
		t.Errorf("waits before restarts 2-7: %v, want %v", got, want)
	}
	if n := len(restartLines(logs)); n != 7 {
		t.Errorf("%d restart log lines for 7 restarts", n)
	}

	// A plugin that served for a while is restarted at once again.
	l.started = time.Now().Add(-stableAfter)
	*waits = nil
	killPlugin(t, l)
	if _, err := l.Get(ctx); err != nil {
		t.Fatalf("Get after a long-lived plugin died: %v", err)
	}
	if len(*waits) != 0 {
		t.Errorf("restarting a plugin that had run for %v waited %v", stableAfter, *waits)
	}
}

func TestKillAndCancelDoNotWaitForTheBackoff(t *testing.T) {
	l := NewLazy(Options{Path: realPlugin, Settings: &pluginv1.ConfigureRequest{ApiKey: testKey(), BaseUrl: "http://127.0.0.1:1"}})
	l.started, l.delay = time.Now(), 20*time.Second
	blocked := make(chan time.Time) // a wait that never ends by itself
	l.afterFunc = func(time.Duration) <-chan time.Time { return blocked }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := l.Get(ctx); done <- err }()

	// Kill does not wait for a restart's backoff.
	time.Sleep(50 * time.Millisecond)
	killed := make(chan struct{})
	go func() { l.kill(); close(killed) }()
	select {
	case <-killed:
	case <-time.After(2 * time.Second):
		t.Fatal("Kill blocked behind a restart's backoff")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Get succeeded after its context was cancelled")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Get did not return after its context was cancelled")
	}
}

func TestAKilledPluginLeavesNoSocketBehind(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	l, _, _ := newHealingLazy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := l.Get(ctx); err != nil {
		t.Fatalf("Get: %v", err)
	}
	killPlugin(t, l) // a SIGKILLed plugin cannot remove its own socket
	if _, err := l.Get(ctx); err != nil {
		t.Fatalf("Get after the plugin died: %v", err)
	}
	l.kill()
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left in TMPDIR after a restart and Kill: %s", e.Name())
	}
}

func TestSocketFolderFitsAUnixSocketPath(t *testing.T) {
	short, err := os.MkdirTemp("/tmp", "sock-") // a short base, whatever TMPDIR is
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(short) })
	t.Setenv(plugin.EnvUnixSocketDir, short)
	dir, err := socketFolder()
	if err != nil || filepath.Dir(dir.Path) != short {
		t.Fatalf("socketFolder() = %v, %v; want a folder under the host's socket folder %s", dir, err, short)
	}
	_ = dir.Remove()
	long := filepath.Join(short, strings.Repeat("d", 70))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv(plugin.EnvUnixSocketDir, long)
	t.Setenv("TMPDIR", long)
	dir, err = socketFolder()
	if err != nil || filepath.Dir(dir.Path) != "/tmp" {
		t.Fatalf("socketFolder() under a %d-byte base = %v, %v; want a folder in /tmp (the socket's path would pass 107 bytes)", len(long), dir, err)
	}
	_ = dir.Remove()
}
