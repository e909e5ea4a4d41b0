//go:build linux

// A plugin that cannot start, or dies mid-sync, and a host killed under its plugin.

package e2e

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

func TestPluginProblems(t *testing.T) {
	_, srv := newTenant(t, simulator.Config{Members: 20})

	run := func(t *testing.T, o runOpts) (*hostRun, string) {
		t.Helper()
		c1z := filepath.Join(t.TempDir(), "out.c1z")
		o.Args = append(syncArgs(srv.URL, c1z), o.Args...)
		o.Key = strPtr(testKey())
		r := runHost(t, o, 30*time.Second)
		return r, c1z
	}

	t.Run("missing plugin path", func(t *testing.T) {
		t.Parallel()
		r, c1z := run(t, runOpts{Args: []string{"--plugin-path", "/nonexistent/baton-cursor-plugin"}})
		requireFailure(t, r, "/nonexistent/baton-cursor-plugin", "no such file")
		requireNoFinishedSync(t, c1z)
	})
	t.Run("host alone, plugin not on PATH", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		alone := filepath.Join(dir, "baton-cursor")
		copyFile(t, hostBin, alone, 0o755)
		r, c1z := run(t, runOpts{Bin: alone, PathEnv: t.TempDir()})
		requireFailure(t, r, "cannot find baton-cursor-plugin")
		requireNoFinishedSync(t, c1z)
	})
	t.Run("plugin not executable", func(t *testing.T) {
		t.Parallel()
		p := filepath.Join(t.TempDir(), "baton-cursor-plugin")
		copyFile(t, pluginBin, p, 0o644)
		r, c1z := run(t, runOpts{Args: []string{"--plugin-path", p}})
		requireFailure(t, r, p, "not executable")
		requireNoFinishedSync(t, c1z)
	})

	notPlugins := map[string]string{
		// Exits at once without a handshake.
		"exits at once": "#!/bin/sh\nexit 0\n",
		// Prints something that is not a handshake and ends.
		"prints junk and exits": "#!/bin/sh\necho 'hello, I am not a plugin'\necho 'nor is this' >&2\n",
		// Prints junk and keeps running; its child holds the output pipe, as
		// any shell script running a command in the background does.
		"prints junk and keeps running": "#!/bin/sh\nsleep 120 &\necho 'hello, I am not a plugin'\nwait\n",
	}
	for name, script := range notPlugins {
		t.Run("not a plugin: "+name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "not-a-plugin.sh")
			if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			r, c1z := run(t, runOpts{Args: []string{"--plugin-path", p}})
			requireFailure(t, r, p)
			requireNoFinishedSync(t, c1z)
		})
	}
	t.Run("not a plugin: /bin/true", func(t *testing.T) {
		t.Parallel()
		r, c1z := run(t, runOpts{Args: []string{"--plugin-path", "/bin/true"}})
		requireFailure(t, r, "/bin/true")
		requireNoFinishedSync(t, c1z)
	})
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, mode); err != nil {
		t.Fatal(err)
	}
}

func TestPluginKilledMidSync(t *testing.T) {
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Faults: simulator.Faults{Delay: 30 * time.Second}})
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := startHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(testKey())})
	p := waitForPlugin(t, r, 30*time.Second)
	// Wait until the plugin's first fetch is being held by the tenant.
	deadline := time.Now().Add(20 * time.Second)
	for tenant.Requests(membersPath) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin never asked for %s", membersPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin %d: %v", p.pid, err)
	}
	killed := time.Now()
	r.wait(t, 15*time.Second)
	if d := time.Since(killed); d > 10*time.Second {
		t.Errorf("host took %v to exit after its plugin died, want under 10 s", d)
	}
	requireFailure(t, r, pluginBin)
	// Aborted, as README and docs/reliability.md say: the run may be tried
	// again, and the next attempt starts a fresh plugin.
	if code := r.exitCode(); code != 10 {
		t.Errorf("exit code %d after the plugin died, want 10 (Aborted)", code)
	}
	if _, ok := anyLine(r.out.String(), pluginBin, "exited unexpectedly"); !ok {
		t.Errorf("no line says the plugin %s exited unexpectedly; output:\n%s", pluginBin, tail(r.out.String(), 20))
	}
	requireNoFinishedSync(t, c1z)
}

func TestHostKilledTakesPluginDown(t *testing.T) {
	_, srv := newTenant(t, simulator.Config{Members: 50, Faults: simulator.Faults{Delay: 30 * time.Second}})
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := startHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(testKey())})
	p := waitForPlugin(t, r, 30*time.Second)

	parent, ok := readProc(p.ppid)
	if !ok {
		t.Fatalf("the plugin's parent %d is gone already", p.ppid)
	}
	t.Logf("plugin %d, its parent %d: %q", p.pid, parent.pid, parent.argv)
	if err := syscall.Kill(r.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill host: %v", err)
	}
	if err := syscall.Kill(parent.pid, syscall.SIGKILL); err != nil && parent.pid != r.cmd.Process.Pid {
		t.Fatalf("kill the plugin's parent %d: %v", parent.pid, err)
	}
	killed := time.Now()
	if !waitGone(p.pid, time.Second) {
		info, _ := readProc(p.pid)
		t.Errorf("plugin %d still runs (state %c, parent %d) %v after its host died", p.pid, info.state, info.ppid, time.Since(killed))
	}
}
