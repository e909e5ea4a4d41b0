package oneshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/hashicorp/go-plugin"
)

// newTestRun is a Run with its temp dir under tmp and its c1z at out; exits
// are recorded, not taken.
func newTestRun(t *testing.T, tmp string) (*Run, *atomic.Int32, *atomic.Int32) {
	t.Helper()
	var exitCode, stops atomic.Int32
	exitCode.Store(-1)
	_, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &Run{cancel: cancel, stop: func() { stops.Add(1) }, exit: func(code int) { exitCode.Store(int32(code)) }}
	t.Setenv(plugin.EnvUnixSocketDir, "")
	if err := r.start(tmp); err != nil {
		t.Fatal(err)
	}
	return r, &exitCode, &stops
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// A run that succeeds with no signal: the staged c1z becomes -f, and the
// run's temp dir and staging dir are gone.
func TestFinishCommitsASuccessfulRun(t *testing.T) {
	tmp, outDir := t.TempDir(), t.TempDir()
	r, _, stops := newTestRun(t, tmp)
	out := filepath.Join(outDir, "sync.c1z")
	staged, err := r.Output(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(staged, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.finish(context.Background(), nil); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "new" {
		t.Errorf("%s holds %q, want the staged c1z", out, b)
	}
	if got := entries(t, outDir); len(got) != 1 {
		t.Errorf("beside the c1z: %v, want only sync.c1z", got)
	}
	if got := entries(t, tmp); len(got) != 0 {
		t.Errorf("temp dir holds %v, want nothing", got)
	}
	if stops.Load() == 0 {
		t.Error("the plugin was not stopped")
	}
	// A signal now comes too late: nothing is cancelled, nobody exits.
	r.Interrupt(syscall.SIGTERM, func() {})
	if r.sig != nil {
		t.Error("a signal after the run was judged changed it")
	}
}

// The existing -f is copied for baton-sdk to add a sync to, and stays as it
// was when the run fails or is interrupted.
func TestFinishLeavesOutputAloneUnlessTheRunSucceeded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sig    os.Signal
		runErr error
	}{
		{"failed", nil, errors.New("boom")},
		{"SIGINT", syscall.SIGINT, nil},
		{"SIGTERM while failing", syscall.SIGTERM, errors.New("context canceled")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp, outDir := t.TempDir(), t.TempDir()
			r, exitCode, _ := newTestRun(t, tmp)
			out := filepath.Join(outDir, "sync.c1z")
			if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			staged, err := r.Output(out)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(staged); string(b) != "old" {
				t.Fatalf("staged copy holds %q, want the existing c1z", b)
			}
			if err := os.WriteFile(staged, []byte("new"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.sig != nil {
				r.sig = tc.sig // as interrupt records it
			}
			err = r.finish(context.Background(), tc.runErr)
			var in *Interrupted
			switch {
			case tc.sig != nil && !errors.As(err, &in):
				t.Errorf("finish: %v, want an interruption", err)
			case tc.sig != nil && SignalStatus(in.Signal) != 128+int(tc.sig.(syscall.Signal)):
				t.Errorf("status %d, want %d", SignalStatus(in.Signal), 128+int(tc.sig.(syscall.Signal)))
			case tc.sig != nil && !strings.Contains(in.Error(), out+" was not written"):
				t.Errorf("message %q does not say %s was not written", in.Error(), out)
			case tc.sig == nil && !errors.Is(err, tc.runErr):
				t.Errorf("finish: %v, want the run's error", err)
			}
			if b, _ := os.ReadFile(out); string(b) != "old" {
				t.Errorf("%s holds %q, want it unchanged", out, b)
			}
			if got := entries(t, outDir); len(got) != 1 {
				t.Errorf("beside the c1z: %v, want only sync.c1z", got)
			}
			if got := entries(t, tmp); len(got) != 0 {
				t.Errorf("temp dir holds %v, want nothing", got)
			}
			if exitCode.Load() != -1 {
				t.Errorf("exited with %d; finish must return, not exit", exitCode.Load())
			}
		})
	}
}

// The first signal cancels the run and stops the plugin; a second one exits
// at once, with its own status.
func TestInterrupt(t *testing.T) {
	r, exitCode, stops := newTestRun(t, t.TempDir())
	cancelled := false
	r.cancel = func() { cancelled = true }
	r.Interrupt(syscall.SIGINT, r.stop)
	if !cancelled || stops.Load() == 0 || r.sig != syscall.SIGINT {
		t.Fatalf("after SIGINT: cancelled %v, plugin stops %d, signal %v", cancelled, stops.Load(), r.sig)
	}
	if exitCode.Load() != -1 {
		t.Fatalf("the first signal exited at once (%d); it must let the run unwind", exitCode.Load())
	}
	r.Interrupt(syscall.SIGTERM, r.stop)
	if got := exitCode.Load(); got != 143 {
		t.Errorf("second signal (SIGTERM): exit %d, want 143 at once", got)
	}
}

// The run's temp dir is offered to the plugin starter for its socket (it
// decides whether the path fits: host/pluginproc's heal_test.go).
func TestSocketDir(t *testing.T) {
	r, _, _ := newTestRun(t, t.TempDir())
	if got := os.Getenv(plugin.EnvUnixSocketDir); got != r.TempDir() {
		t.Errorf("%s=%q, want the run's temp dir %q", plugin.EnvUnixSocketDir, got, r.TempDir())
	}
}
