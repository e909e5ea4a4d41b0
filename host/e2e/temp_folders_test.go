//go:build unix

// Temp folders: those of runs that were SIGKILLed are removed by the next
// run, and nothing that is not ours; a long TMPDIR still leaves the plugin
// room for its socket.
package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// strangers are folders in TMPDIR that look like ours by name but hold no
// owner lock: a sweep must leave them.
var strangers = []string{"baton-cursor-not-ours", "baton-cursor-plugin-not-ours", "plugin-123"}

func plantStrangers(t *testing.T, dir string) {
	t.Helper()
	for _, name := range strangers {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A one-shot sync whose run folder (under a 70-character BATON_TMPDIR) is too
// long for the plugin's socket, so the socket folder goes to TMPDIR, is
// SIGKILLed mid-sync with its plugin; the next run removes what it left in
// TMPDIR, in BATON_TMPDIR and beside -f, and leaves the strangers alone.
func TestNextRunRemovesWhatAKilledRunLeft(t *testing.T) {
	tmp := shortTempDir(t)
	batonTmp := filepath.Join(tmp, strings.Repeat("t", 70-len(tmp)-1))
	if err := os.Mkdir(batonTmp, 0o700); err != nil {
		t.Fatal(err)
	}
	plantStrangers(t, tmp)
	env := []string{"TMPDIR=" + tmp, "BATON_TMPDIR=" + batonTmp}
	out := t.TempDir()
	c1z := filepath.Join(out, "out.c1z")

	tenant, slow := newTenant(t, simulator.Config{Members: 50, Faults: simulator.Faults{Delay: 30 * time.Second}})
	r := startHost(t, runOpts{Args: syncArgs(slow.URL, c1z), Key: strPtr(testKey()), Env: env})
	waitForPlugin(t, r, 30*time.Second)
	waitRequests(t, tenant, membersPath, 1)
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 10*time.Second)
	left := slices.DeleteFunc(dirNames(t, tmp), func(n string) bool {
		return slices.Contains(strangers, n) || n == filepath.Base(batonTmp)
	})
	if len(left) == 0 || len(dirNames(t, batonTmp)) == 0 || len(dirNames(t, out)) == 0 {
		t.Fatalf("the killed run left nothing to clean up (TMPDIR %v, BATON_TMPDIR %v, beside -f %v): the test proves nothing",
			left, dirNames(t, batonTmp), dirNames(t, out))
	}
	t.Logf("the killed run left in TMPDIR %v, in BATON_TMPDIR %v, beside -f %v", left, dirNames(t, batonTmp), dirNames(t, out))

	_, fast := newTenant(t, simulator.Config{Members: 50})
	next := runHost(t, runOpts{Args: syncArgs(fast.URL, c1z), Key: strPtr(testKey()), Env: env}, 60*time.Second)
	if next.exitCode() != 0 {
		t.Fatalf("the next run failed (%d):\n%s", next.exitCode(), tail(next.out.String(), 20))
	}
	defer func() {
		if t.Failed() {
			for _, n := range dirNames(t, tmp) {
				t.Logf("%s holds %v", n, dirNames(t, filepath.Join(tmp, n)))
			}
		}
	}()
	requireOnly(t, "TMPDIR after the next run", tmp, append(slices.Clone(strangers), filepath.Base(batonTmp))...)
	requireDirEmpty(t, "BATON_TMPDIR after the next run", batonTmp)
	requireOnly(t, "beside -f after the next run", out, "out.c1z")
}

// A service SIGKILLed with its children leaves its temp folder; the next
// service started on the same TMPDIR removes it.
func TestNextServiceRemovesWhatAKilledServiceLeft(t *testing.T) {
	_, srv := newTenant(t, simulator.Config{Members: 50, Seed: 43})
	tmp := shortTempDir(t) // the plugin's socket goes two folders down
	s := startService(t, serviceOpts{Base: srv.URL, Env: []string{"TMPDIR=" + tmp}})
	plantStrangers(t, tmp)
	s.syncTask(t)
	killed := slices.DeleteFunc(dirNames(t, tmp), func(n string) bool { return slices.Contains(strangers, n) })
	if err := syscall.Kill(-s.host.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.host.wait(t, 10*time.Second)
	if len(killed) != 1 || !strings.HasPrefix(killed[0], "baton-cursor-service-") {
		t.Fatalf("TMPDIR holds %v besides the strangers, want the service's one folder", killed)
	}

	next := startService(t, serviceOpts{Base: srv.URL, Env: []string{"TMPDIR=" + tmp}})
	next.syncTask(t)
	now := dirNames(t, tmp)
	if slices.Contains(now, killed[0]) {
		t.Errorf("the killed service's folder %s is still in TMPDIR (%v)", killed[0], now)
	}
	for _, name := range strangers {
		if !slices.Contains(now, name) {
			t.Errorf("the sweep removed %s, which was not ours", name)
		}
	}
}

// Service mode puts TMPDIR one folder down (baton-cursor-service-…), so a
// TMPDIR of about 70 bytes leaves no room for the plugin's socket there (107
// bytes at most): the socket goes to /tmp and sync tasks succeed. Before,
// every task failed: "listen unix …: bind: invalid argument".
func TestServiceWithALongTMPDIR(t *testing.T) {
	_, srv := newTenant(t, simulator.Config{Members: 50, Seed: 44})
	tmp := filepath.Join(shortTempDir(t), strings.Repeat("t", 50))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Logf("TMPDIR has %d bytes", len(tmp))
	s := startService(t, serviceOpts{Base: srv.URL, Env: []string{"TMPDIR=" + tmp}})
	if c := s.syncTask(t); len(c.OfType("user")) != 50 {
		t.Errorf("the sync task uploaded %d users, want 50", len(c.OfType("user")))
	}
}
