//go:build linux

package e2e

// The process model (issue 11): a one-shot run is baton-cursor and its
// plugin, nothing else; its exit status never lies, whatever the logging
// flags; SIGINT and SIGTERM end it at any phase within 5 s, non-zero, with
// the plugin gone, no c1z claiming a finished sync and $TMPDIR as it was.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// shortTempDir is a fresh folder for $TMPDIR with a short path (t.TempDir's
// are long): the plugin's unix socket goes inside the run's folder there,
// and a socket path is limited to 107 bytes.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bc-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// requireDirEmpty fails when dir holds anything (a run's leftovers).
func requireDirEmpty(t *testing.T, what, dir string) {
	t.Helper()
	if names := dirNames(t, dir); len(names) > 0 {
		t.Errorf("%s: %s holds %v, want nothing left behind", what, dir, names)
	}
}

// requireOnly fails when dir holds anything but the names given.
func requireOnly(t *testing.T, what, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.Contains(strings.Join(want, "\x00")+"\x00", e.Name()+"\x00") {
			t.Errorf("%s: %s holds %s, want only %v", what, dir, e.Name(), want)
		}
	}
}

// A successful sync: the host's only child is the plugin (no baton-sdk
// _connector-service child, no supervisor), and $TMPDIR ends as it began.
func TestOneShotSyncIsHostAndPluginOnly(t *testing.T) {
	t.Parallel()
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 111,
		Faults: simulator.Faults{Delay: 2 * time.Second, DelayedRequests: 1}})
	tmp := shortTempDir(t)
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := startHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(testKey()), Env: []string{"TMPDIR=" + tmp}})
	waitForPlugin(t, r, 30*time.Second)
	for tenant.Requests(membersPath) == 0 { // the plugin's roster fetch is held 2 s
		time.Sleep(10 * time.Millisecond)
	}
	procs := processTree(r.cmd.Process.Pid)[1:] // below the host
	if len(procs) != 1 || procs[0].argv[0] != pluginBin {
		var argvs []string
		for _, p := range procs {
			argvs = append(argvs, strings.Join(p.argv, " "))
		}
		t.Errorf("processes under the host: %q, want only the plugin %s", argvs, pluginBin)
	}
	r.wait(t, 60*time.Second)
	fxRequireExit(t, r, 0)
	checkSyncMatchesTenant(t, tenant.Members(), fxRead(t, c1z))
	requireDirEmpty(t, "after a successful sync", tmp)
	requireOnly(t, "beside the c1z after a successful sync", filepath.Dir(c1z), "out.c1z")
}

// TestFailedSyncAlwaysExitsNonZero repeats two cheap failing syncs many
// times, 4 at once, with each logging setup, and requires baton-sdk's exit
// code for the failure and a last line naming it every time: a missing
// plugin (FailedPrecondition, 9, before any plugin runs) and a key Cursor
// rejects (Unauthenticated, 16, with the plugin running). There is no second
// exit to race: the run is one process that returns its error to main.
func TestFailedSyncAlwaysExitsNonZero(t *testing.T) {
	t.Parallel()
	const perCase, atOnce = 8, 4
	_, srv := newTenant(t, simulator.Config{Members: 20, Seed: 113})
	missing := "/nonexistent/baton-cursor-plugin"
	failures := []struct {
		name  string
		args  func(c1z string) []string
		key   string
		code  int
		names string
	}{
		{"missing plugin", func(c1z string) []string {
			return syncArgs("http://127.0.0.1:9", c1z, "--plugin-path", missing)
		}, testKey(), exitFailedPrecondition, missing},
		{"key rejected", func(c1z string) []string { return syncArgs(srv.URL, c1z) },
			"crsr_" + strings.Repeat("n0tTh3K3y", 8)[:64], exitUnauthenticated, "Cursor rejected the API key"},
	}
	dir := t.TempDir()
	setups := [][]string{
		nil,
		{"--log-format", "console"},
		{"--log-path", filepath.Join(dir, "json.log")},
		{"--log-path", filepath.Join(dir, "console.log"), "--log-format", "console"},
	}
	type result struct {
		what string
		want int
		name string
		code int
		last string
		c1z  string
	}
	var results []chan result
	sem := make(chan struct{}, atOnce)
	for s, setup := range setups {
		for f, fail := range failures {
			for i := range perCase {
				ch := make(chan result, 1)
				results = append(results, ch)
				c1z := filepath.Join(dir, fmt.Sprintf("out-%d-%d-%d.c1z", s, f, i))
				what := fmt.Sprintf("%s, flags %q", fail.name, setup)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					cmd := exec.Command(hostBin, append(fail.args(c1z), setup...)...)
					cmd.Dir = dir
					cmd.Env = hostEnv(runOpts{Key: strPtr(fail.key)})
					cmd.WaitDelay = 5 * time.Second
					out, _ := cmd.CombinedOutput()
					ch <- result{what, fail.code, fail.names, cmd.ProcessState.ExitCode(), lastLine(string(out)), c1z}
				}()
			}
		}
	}
	for _, ch := range results {
		r := <-ch
		if r.code != r.want {
			t.Errorf("%s: exit code %d, want %d; last line: %s", r.what, r.code, r.want, r.last)
		}
		if !strings.Contains(r.last, r.name) {
			t.Errorf("%s: the last line does not say %q: %s", r.what, r.name, r.last)
		}
		requireNoFinishedSync(t, r.c1z)
	}
}

// signalPhase is a point of a sync at which the test holds the run, then
// signals it.
type signalPhase struct {
	name string
	hold string // the test-hook point (host/oneshot/hold.go); "" = the tenant holds the run
}

var signalPhases = []signalPhase{
	// Settings read, c1z staged, no plugin yet.
	{"before the plugin starts", "before-plugin"},
	// The plugin runs and waits on Cursor (the tenant holds the roster).
	{"while the plugin waits on Cursor", ""},
	// The syncer waits for a page of resources from the connector.
	{"mid-page", "/c1.connector.v2.ResourcesService/ListResources"},
	// Every page is in; baton-sdk has written the staged c1z, which is about
	// to become the -f file.
	{"while the c1z is written", "before-commit"},
}

// TestSignalEndsRunCleanly signals a sync held at each phase exactly (a test
// hook or the tenant blocks it there; the test waits until it is there) with
// SIGINT and SIGTERM, and checks what the person sees: the exit within 5 s
// with 130 or 143 and one line saying so, the plugin gone, no c1z claiming
// a finished sync, nothing left in $TMPDIR or beside the c1z.
func TestSignalEndsRunCleanly(t *testing.T) {
	t.Parallel()
	for _, ph := range signalPhases {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(ph.name+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				signalAtPhase(t, ph, sig)
			})
		}
	}
}

func signalAtPhase(t *testing.T, ph signalPhase, sig syscall.Signal) {
	faults := simulator.Faults{}
	if ph.hold == "" {
		faults = simulator.Faults{Delay: 60 * time.Second}
	}
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 112, Faults: faults})
	tmp, out := shortTempDir(t), t.TempDir()
	marker := filepath.Join(t.TempDir(), "held")
	c1z := filepath.Join(out, "out.c1z")
	env := []string{"TMPDIR=" + tmp}
	if ph.hold != "" {
		env = append(env, "BATON_CURSOR_TEST_HOLD="+ph.hold, "BATON_CURSOR_TEST_HOLD_MARKER="+marker)
	}
	r := startHost(t, runOpts{Bin: holdBin, Args: syncArgs(srv.URL, c1z), Key: strPtr(testKey()), Env: env})

	// Wait until the run is at the phase.
	deadline := time.Now().Add(30 * time.Second)
	for {
		at := tenant.Requests(membersPath) > 0
		if ph.hold != "" {
			_, err := os.Stat(marker)
			at = err == nil
		}
		if at {
			break
		}
		select {
		case <-r.done:
			t.Fatalf("the run ended (code %d) before it reached the phase; output:\n%s", r.exitCode(), tail(r.out.String(), 20))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not reach the phase within 30 s; output:\n%s", tail(r.out.String(), 20))
		}
		time.Sleep(10 * time.Millisecond)
	}
	plugin, pluginRuns := findDescendant(r.cmd.Process.Pid, pluginBin)
	if ph.hold == "before-plugin" && pluginRuns {
		t.Fatalf("a plugin (pid %d) runs before the phase that precedes it", plugin.pid)
	}
	// By the time the c1z is written the plugin has been told to stop (the
	// sync's last call is done); before that it must be running.
	if ph.hold != "before-plugin" && ph.hold != "before-commit" && !pluginRuns {
		t.Fatalf("no plugin runs at this phase")
	}

	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	r.wait(t, 10*time.Second)
	if d := time.Since(signalled); d > 5*time.Second {
		t.Errorf("the run took %v to end after %v, want at most 5 s", d, sig)
	}
	fxRequireExit(t, r, 128+int(sig))
	name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
	if last := lastLine(r.out.String()); !strings.Contains(last, "interrupted by "+name) || !strings.Contains(last, c1z+" was not written") {
		t.Errorf("last line %q, want it to say the run was interrupted by %s and %s was not written", last, name, c1z)
	}
	if pluginRuns && !waitGone(plugin.pid, time.Second) {
		t.Errorf("plugin %d still runs after the host ended", plugin.pid)
	}
	requireNoFinishedSync(t, c1z)
	requireDirEmpty(t, "after "+name, tmp)
	requireDirEmpty(t, "beside the c1z after "+name, out)
}
