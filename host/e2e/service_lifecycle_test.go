//go:build linux

// Service mode over a pod's lifetime: SIGTERM as Kubernetes sends it, and
// a plugin that dies between and during tasks.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// termGrace is the grace period the test gives, as a pod's
// terminationGracePeriodSeconds would.
const termGrace = 10 * time.Second

// startServiceTmp starts the service with its own TMPDIR, returned.
func startServiceTmp(t *testing.T, base string, env ...string) (*service, string) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	return startService(t, serviceOpts{Base: base, Env: append(env, "TMPDIR="+tmp)}), tmp
}

// waitRunning waits until the sync task has sent its first heartbeat and the
// plugin process runs: the task is in flight.
func (s *service) waitRunning(t *testing.T, id string) procInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.c1.WaitHeartbeat(ctx, id); err != nil {
		t.Fatalf("task %s never heartbeat: %v; output:\n%s", id, err, tail(s.host.out.String(), 30))
	}
	return waitForPlugin(t, s.host, 60*time.Second)
}

// SIGTERM to the pod's first process mid-sync: every process of the tree
// ends within the grace period, C1 is not told the task succeeded, and
// nothing is left in TMPDIR.
func TestServiceSIGTERMMidSync(t *testing.T) {
	t.Parallel()
	// Every Cursor answer takes a minute: the sync is in flight when the signal comes.
	_, srv := newTenant(t, simulator.Config{Members: 50, Seed: 41, Faults: simulator.Faults{Delay: time.Minute}})
	s, tmp := startServiceTmp(t, srv.URL)
	id := s.c1.EnqueueSync()
	s.waitRunning(t, id)
	tree := processTree(s.host.cmd.Process.Pid)

	sent := time.Now()
	if err := syscall.Kill(s.host.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.host.done:
	case <-time.After(termGrace):
		t.Fatalf("baton-cursor still runs %v after SIGTERM; output:\n%s", termGrace, tail(s.host.out.String(), 30))
	}
	for _, p := range tree {
		if !waitGone(p.pid, termGrace-time.Since(sent)) {
			t.Errorf("process %d %v still runs %v after SIGTERM", p.pid, p.argv, time.Since(sent))
		}
	}
	if code := s.host.exitCode(); code == 0 {
		t.Errorf("exit code 0 after SIGTERM mid-sync, want non-zero")
	}
	if out, ok := s.c1.Outcome(id); ok && out.Success {
		t.Errorf("C1 was told the interrupted sync task succeeded")
	}
	if ups := s.c1.Uploads(id); len(ups) != 0 {
		t.Errorf("the interrupted sync uploaded %d c1z files", len(ups))
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left in TMPDIR after SIGTERM: %s", e.Name())
	}
	t.Logf("ended %v after SIGTERM, exit code %d", time.Since(sent).Round(time.Millisecond), s.host.exitCode())
}

// waitRequests waits until the tenant has received n requests for path.
func waitRequests(t *testing.T, tenant *simulator.Tenant, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for tenant.Requests(path) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no request for %s within 30 s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killPlugin kills the plugin process with SIGKILL, as the OOM killer would,
// and waits until it is gone.
func killPlugin(t *testing.T, p procInfo) {
	t.Helper()
	if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 plugin %d: %v", p.pid, err)
	}
	if !waitGone(p.pid, 10*time.Second) {
		t.Fatalf("plugin %d still runs 10 s after SIGKILL", p.pid)
	}
}

// The plugin killed between two sync tasks: the next task starts a fresh
// plugin and succeeds, in the same service process.
func TestServicePluginKilledBetweenTasks(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 42})
	s := startService(t, serviceOpts{Base: srv.URL})
	checkSyncMatchesTenant(t, tenant.Members(), s.syncTask(t))

	first := waitForPlugin(t, s.host, 30*time.Second)
	killPlugin(t, first)

	checkSyncMatchesTenant(t, tenant.Members(), s.syncTask(t))
	second := waitForPlugin(t, s.host, 30*time.Second)
	if second.pid == first.pid {
		t.Errorf("the plugin after the kill has the killed one's pid %d", first.pid)
	}
	if isDone(s.host) {
		t.Errorf("the service process exited (code %d)", s.host.exitCode())
	}
	if n := strings.Count(s.host.out.String(), "starting a fresh plugin"); n != 1 {
		t.Errorf("%d log lines say a fresh plugin was started, want 1 (one per restart)", n)
	}
}

// The plugin killed during a sync task, in a call to a plugin that was
// already running: that task fails as retryable (C1 will run it again), and
// the next one succeeds with a fresh plugin.
func TestServicePluginKilledMidSync(t *testing.T) {
	t.Parallel()
	tenant, base := newSCIMTenant(t, simulator.Config{Members: 50, Seed: 43})
	s := startService(t, serviceOpts{Base: base, Env: provisioningEnv(base)})
	s.syncTask(t)
	plugin := waitForPlugin(t, s.host, 30*time.Second)

	// A removal makes the plugin drop its roster copy, so the next sync asks
	// Cursor again, and that request hangs for a minute.
	gone := strings.ToLower(tenant.Members()[simulator.RowSCIMActive].Email)
	if out := s.outcome(t, s.c1.EnqueueDelete("user", gone), 60*time.Second); !out.Success {
		t.Fatalf("delete_resource failed: %v %q", out.Code, out.Message)
	}
	before := tenant.Requests(membersPath)
	tenant.SetFaults(simulator.Faults{Delay: time.Minute, DelayedRequests: 1})

	id := s.c1.EnqueueSync()
	waitRequests(t, tenant, membersPath, before+1)
	if now := waitForPlugin(t, s.host, time.Second); now.pid != plugin.pid {
		t.Fatalf("the plugin changed (%d, then %d) before it was killed", plugin.pid, now.pid)
	}
	killPlugin(t, plugin)
	out := s.outcome(t, id, 60*time.Second)
	if out.Success {
		t.Fatalf("the sync task whose plugin was killed reported success")
	}
	if out.NonRetryable {
		t.Errorf("the sync task whose plugin was killed failed non-retryable (%v %q); want retryable", out.Code, out.Message)
	}
	if ups := s.c1.Uploads(id); len(ups) != 0 {
		t.Errorf("the failed sync task uploaded %d c1z files", len(ups))
	}

	c := s.syncTask(t)
	checkSyncMatchesTenant(t, tenant.Members(), c)
	if u := userIn(c, gone); u == nil || u.GetStatus().GetStatus() != v2.Status_RESOURCE_STATUS_DISABLED {
		t.Errorf("the sync after the restart does not show %s removed: %v", gone, u)
	}
}
