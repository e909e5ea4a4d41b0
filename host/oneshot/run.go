package oneshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/conductorone/baton-sdk/pkg/tempdir"
	"github.com/hashicorp/go-plugin"

	"github.com/conductorone/baton-cursor/internal/ownedtemp"
)

// grace is how long a signalled run may take to unwind (cancelled calls,
// the plugin killed, temp files removed) before the process exits anyway.
const grace = 3 * time.Second

// Begin starts a one-shot run, to be done by Execute: cancel ends its
// context, stop ends the connector's subprocesses, exit ends the process.
func Begin(cancel context.CancelFunc, stop func(), exit func(code int)) *Run {
	return &Run{cancel: cancel, stop: stop, exit: exit, summary: newSummary()}
}

// Run is one one-shot run: its private temp directory, the c1z it stages,
// and what a signal does to it.
type Run struct {
	cancel context.CancelFunc
	stop   func()
	exit   func(code int) // os.Exit

	summary *summary
	action  string // pickAction's; "" for a sync

	dir     *ownedtemp.Folder // private temp dir: baton's c1z-pebble*, the plugin's socket
	out     string            // the -f path
	staging *ownedtemp.Folder // dir beside out where the syncer writes until commit
	staged  string            // the c1z in staging

	mu      sync.Mutex
	sig     os.Signal // the first signal, nil if none came
	decided bool      // finish has judged the run; later signals come too late
}

// Interrupted is a run ended by a signal: the process exits with
// SignalStatus(Signal) after saying so.
type Interrupted struct {
	Signal os.Signal
	out    string
}

func (e *Interrupted) Error() string {
	msg := "baton-cursor: interrupted by " + signalName(e.Signal)
	if e.out != "" {
		msg += "; " + e.out + " was not written"
	}
	return msg
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// SignalStatus is a signal's exit status, as the shell has it: 128 + the
// signal's number.
func SignalStatus(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 128 + int(syscall.SIGINT)
}

// start makes the run's temp directory, under baton's c1z temp dir
// (--c1z-temp-dir, else $TMPDIR), and has go-plugin put the plugin's socket
// there, so that nothing is left behind in $TMPDIR on any way out. What
// earlier runs left there when they were killed (SIGKILL gives no chance to
// clean up) is removed first.
func (r *Run) start(c1zTempDir string) error {
	base := tempdir.Resolve(c1zTempDir)
	if c1zTempDir != "" {
		if _, err := os.Stat(base); err != nil {
			return fmt.Errorf("the specified c1z temp dir does not exist: %s", base)
		}
	}
	ownedtemp.Sweep(base, "baton-cursor-")
	dir, err := ownedtemp.Make(base, "baton-cursor-")
	if err != nil {
		return fmt.Errorf("baton-cursor: make a temp directory (set TMPDIR or --c1z-temp-dir to a writable folder): %w", err)
	}
	r.mu.Lock()
	r.dir = dir
	r.mu.Unlock()
	// The host's plugin starter puts the socket's folder here when the
	// socket's path fits (host/pluginproc: socketFolder), else elsewhere.
	return os.Setenv(plugin.EnvUnixSocketDir, dir.Path)
}

// TempDir is where baton-sdk keeps its working files.
func (r *Run) TempDir() string { return r.dir.Path }

// Output stages the c1z: the syncer writes a copy beside out (baton-sdk adds
// a new sync to an existing file), which becomes out only when the run
// succeeds before any signal. A failed or interrupted run leaves out as it
// was.
func (r *Run) Output(out string) (string, error) {
	if out == "" {
		return "", errors.New("baton-cursor: -f (--file) is empty: name the c1z file to write")
	}
	ownedtemp.Sweep(filepath.Dir(out), ".baton-cursor-")
	staging, err := ownedtemp.Make(filepath.Dir(out), ".baton-cursor-")
	if err != nil {
		return "", fmt.Errorf("baton-cursor: cannot write beside %s: %w", out, err)
	}
	staged := filepath.Join(staging.Path, filepath.Base(out))
	r.mu.Lock()
	r.out, r.staging, r.staged = out, staging, staged
	r.mu.Unlock()
	if err := copyFile(out, staged); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("baton-cursor: copy %s to add a sync to it: %w", out, err)
	}
	return staged, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Interrupt handles a signal: the first one cancels the run and kills the
// plugin; the run then has grace to unwind before the process exits anyway.
// A signal after finish has judged the run changes nothing.
// A second signal exits at once.
func (r *Run) Interrupt(s os.Signal, stop func()) {
	r.mu.Lock()
	first, decided := r.sig == nil, r.decided
	if first && !decided {
		r.sig = s
	}
	r.mu.Unlock()
	switch {
	case decided:
		return
	case !first:
		r.exitNow(s)
	}
	r.cancel()
	stop()
	go func() {
		time.Sleep(grace)
		r.exitNow(s)
	}()
}

func (r *Run) exitNow(s os.Signal) {
	r.stop()
	r.cleanup()
	r.mu.Lock()
	out := r.out
	r.mu.Unlock()
	fmt.Fprintln(os.Stderr, (&Interrupted{Signal: s, out: out}).Error())
	r.exit(SignalStatus(s))
}

// finish ends the run: the staged c1z becomes out only if the run succeeded
// and no signal came first; that decision and the signal handler's are made
// under one lock, so an interrupted run never leaves a finished c1z.
func (r *Run) finish(ctx context.Context, err error) error {
	if err == nil {
		hold(ctx, "before-commit")
	}
	r.mu.Lock()
	sig := r.sig
	commit := sig == nil && err == nil && r.staged != ""
	r.decided = sig == nil
	r.mu.Unlock()
	if commit {
		if rerr := os.Rename(r.staged, r.out); rerr != nil {
			err = fmt.Errorf("baton-cursor: write %s: %w", r.out, rerr)
		}
	}
	r.stop()
	r.cleanup()
	if sig != nil {
		return &Interrupted{Signal: sig, out: r.out}
	}
	return err
}

// cleanup removes the run's temp directory and staging directory.
func (r *Run) cleanup() {
	r.mu.Lock()
	dir, staging := r.dir, r.staging
	r.mu.Unlock()
	for _, d := range []*ownedtemp.Folder{dir, staging} {
		_ = d.Remove()
	}
}
