// Service mode over a pod's lifetime: SIGTERM as Kubernetes sends it, and
// a plugin that dies between and during tasks.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

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
	tree := scDescendants(s.host.cmd.Process.Pid)

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
