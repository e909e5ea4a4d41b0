// Package pluginproc starts baton-cursor-plugin as a go-plugin subprocess of
// the host, lazily, in the process that syncs, makes sure it dies with it, and
// starts a fresh one when it has died (a long-running host must heal).
package pluginproc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/ownedtemp"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// BinaryName is the plugin executable's name.
const BinaryName = "baton-cursor-plugin"

// Options says how to start and configure the plugin.
type Options struct {
	Path     string                     // --plugin-path; "" = beside the host binary, then PATH
	Settings *pluginv1.ConfigureRequest // handed over the mTLS channel, never argv or env
	Logger   *zap.Logger
}

// Restart backoff: a plugin that ran for stableAfter is restarted at once; one
// that keeps dying (or failing to start) soon after its start waits 1, 2, 4 …
// up to maxRestartDelay before the next start, so a crash loop costs little.
const (
	stableAfter     = time.Minute
	maxRestartDelay = 30 * time.Second
)

// Lazy starts the plugin on first use and configures it; when the plugin has
// exited, the next Get starts a fresh one.
type Lazy struct {
	opts      Options
	afterFunc func(time.Duration) <-chan time.Time // time.After; tests shorten waits

	startMu  sync.Mutex    // one start (backoff included) at a time
	started  time.Time     // when the last start began; zero before the first
	delay    time.Duration // wait before the next start if the last plugin was short-lived
	restarts int

	mu      sync.Mutex // guards what Kill touches; never held while waiting
	path    string
	client  *plugin.Client
	sockets *ownedtemp.Folder // the plugin's unix socket folder, removed with the client
	svc     pluginv1.PluginServiceClient
	stopped bool // Kill was called: the host is on its way out

	rateLimited rateLimits // across restarts: Cursor's limit is the team's
}

// NewLazy returns a Lazy that has started nothing yet.
func NewLazy(opts Options) *Lazy {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Lazy{opts: opts, afterFunc: time.After}
}

// Get returns a configured plugin client. It starts the plugin on first use,
// and again when the last one has exited or failed to start (after the
// restart backoff), logging one line per restart.
func (l *Lazy) Get(ctx context.Context) (pluginv1.PluginServiceClient, error) {
	l.startMu.Lock()
	defer l.startMu.Unlock()

	l.mu.Lock()
	stopped, svc, client := l.stopped, l.svc, l.client
	l.mu.Unlock()
	switch {
	case stopped:
		return nil, l.stoppedError()
	case svc != nil && !client.Exited():
		return svc, nil
	case !l.started.IsZero():
		if err := l.waitToRestart(ctx, svc != nil); err != nil {
			return nil, err
		}
	}

	l.started = time.Now()
	svc, err := l.start(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && l.stopped { // Kill ran while the plugin was starting
		release(l.client, l.sockets)
		return nil, l.stoppedError()
	}
	l.svc = svc
	return svc, err
}

// waitToRestart releases the last plugin, logs the restart and waits out the
// backoff. Releasing the dead plugin's client means months of restarts leak
// nothing.
func (l *Lazy) waitToRestart(ctx context.Context, exited bool) error {
	l.mu.Lock()
	old, oldSockets := l.client, l.sockets
	l.client, l.svc, l.sockets = nil, nil, nil
	l.mu.Unlock()
	release(old, oldSockets)
	if time.Since(l.started) >= stableAfter {
		l.delay = 0
	}
	l.restarts++
	reason := "its last start failed"
	if exited {
		reason = "the last one exited"
	}
	l.opts.Logger.Warn("baton-cursor: starting a fresh plugin, because "+reason,
		zap.String("path", l.path), zap.Int("restart", l.restarts), zap.Duration("after", l.delay))
	if l.delay > 0 {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-l.afterFunc(l.delay):
		}
	}
	l.delay = min(max(2*l.delay, time.Second), maxRestartDelay)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return l.stoppedError()
	}
	return nil
}

// socketPrefix names the plugin's socket folders; a later start removes
// those of hosts that died without removing theirs (ownedtemp.Sweep: only
// folders with our owner lock). Short, because the socket's path is.
const socketPrefix = "plugin-"

// socketFolder makes a folder of the plugin's own for its unix socket,
// which release removes. It goes under the host's socket folder if it set one
// (a one-shot run's temp folder), else under TMPDIR, else under /tmp,
// wherever the socket's path fits (at most 107 bytes: base, the folder and
// "/plugin", each name with up to ten digits). Service mode's TMPDIR is a
// folder inside the pod's, so /tmp is what saves a long TMPDIR (macOS's are
// about 50 bytes).
func socketFolder() (*ownedtemp.Folder, error) {
	for _, base := range []string{os.Getenv(plugin.EnvUnixSocketDir), os.TempDir(), "/tmp"} {
		if base == "" || len(base)+len("/"+socketPrefix+"/plugin")+20 > 107 {
			continue
		}
		if st, err := os.Stat(base); err == nil && st.IsDir() {
			ownedtemp.Sweep(base, socketPrefix)
			f, err := ownedtemp.Make(base, socketPrefix)
			if err != nil {
				return nil, fmt.Errorf("%w (set TMPDIR to a writable folder)", err)
			}
			return f, nil
		}
	}
	return nil, fmt.Errorf("TMPDIR (%s) is too long for the plugin's unix socket (at most 107 bytes in all) and there is no /tmp: set TMPDIR to a shorter folder", os.TempDir())
}

// live holds every plugin started and not yet released, with its socket
// folder, so that KillAll reaches it on the host's way out. go-plugin's own
// list (ClientConfig.Managed) is never pruned: a long-running host whose
// plugin keeps restarting would hold every client it ever made.
var live = struct {
	sync.Mutex
	exiting bool // KillAll ran: start nothing more
	clients map[*plugin.Client]*ownedtemp.Folder
}{clients: map[*plugin.Client]*ownedtemp.Folder{}}

// track adds a new client to live; false once KillAll ran.
func track(client *plugin.Client, sockets *ownedtemp.Folder) bool {
	live.Lock()
	defer live.Unlock()
	if live.exiting {
		return false
	}
	live.clients[client] = sockets
	return true
}

// KillAll stops every plugin this process started, at once, and any later
// start fails: the host calls it on every way out, signals included
// (os.Exit and SIGKILL are covered by the plugin's parent-death signal and
// watchdog). Every call returns only once the plugins are released and
// their socket folders removed: a sync's last connector call starts it in
// the background, and the host must not exit under it.
func KillAll() { killAll.Do(killAllNow) }

var killAll sync.Once

func killAllNow() {
	live.Lock()
	live.exiting = true
	clients := maps.Clone(live.clients)
	live.Unlock()
	var wg sync.WaitGroup
	for client, sockets := range clients {
		wg.Go(func() { release(client, sockets) })
	}
	wg.Wait()
}

// release stops a plugin, forgets it and removes its socket folder: the
// socket stays behind when the plugin was killed (SIGKILL, an OOM kill)
// rather than told to stop.
func release(client *plugin.Client, sockets *ownedtemp.Folder) {
	if client != nil {
		live.Lock()
		delete(live.clients, client)
		live.Unlock()
		client.Kill()
	}
	_ = sockets.Remove()
}

func (l *Lazy) stoppedError() error {
	return status.Errorf(codes.Canceled, "baton-cursor: the plugin %s was stopped because baton-cursor is exiting", l.path)
}

func (l *Lazy) start(ctx context.Context) (pluginv1.PluginServiceClient, error) {
	if err := ctx.Err(); err != nil { // the run was cancelled: start nothing
		return nil, err
	}
	path, err := Locate(l.opts.Path)
	if err != nil {
		return nil, err
	}
	sockets, err := socketFolder()
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "baton-cursor: make a folder for the plugin's socket: %v", err)
	}
	cmd := exec.Command(path)
	cmd.Env = pluginEnv(os.Environ(), l.opts.Logger)
	if sockets != nil {
		cmd.Env = append(cmd.Env, plugin.EnvUnixSocketDir+"="+sockets.Path)
	}
	isolate(cmd)

	var client *plugin.Client // set before the first call is made
	cfg := handshake.ClientConfig(cmd, newHCLogger(l.opts.Logger))
	cfg.StartTimeout = 15 * time.Second
	cfg.SyncStdout = zapWriter{l.opts.Logger.Named("plugin-stdout")}
	cfg.SyncStderr = zapWriter{l.opts.Logger.Named("plugin-stderr")}
	cfg.GRPCDialOptions = append(cfg.GRPCDialOptions, grpc.WithChainUnaryInterceptor(
		finalUnavailable(path, func() bool { return client.Exited() }, &l.rateLimited)))
	client = plugin.NewClient(cfg)
	if !track(client, sockets) { // KillAll ran: the host is on its way out
		release(nil, sockets)
		return nil, l.stoppedError()
	}
	l.mu.Lock()
	l.path, l.client, l.sockets = path, client, sockets
	l.mu.Unlock()

	svc, err := handshake.Dispense(client)
	if err != nil {
		killGroup(cmd)
		release(client, sockets)
		return nil, status.Errorf(codes.FailedPrecondition,
			"baton-cursor: could not start the plugin %s: %s (is it a baton-cursor-plugin of a matching version? `%s version` tells)",
			path, oneLine(err), path)
	}
	l.opts.Logger.Debug("plugin started", zap.String("path", path),
		zap.Int("protocol_version", client.NegotiatedVersion()))
	if _, err := svc.Configure(ctx, l.opts.Settings); err != nil {
		return nil, err // the process is released before the next start
	}
	return svc, nil
}

// finalUnavailable rewrites Unavailable answers. From a plugin that died, it
// becomes one line naming the plugin, as Aborted: baton-sdk must not retry the
// call in place (a plugin that keeps dying would loop the sync forever), and a
// task that fails with it may be run again, which the next Get serves with a
// fresh plugin. From a live plugin it means Cursor kept failing after the
// plugin's retries (Cursor's documented backoff): see rateLimits.final.
func finalUnavailable(path string, exited func() bool, limits *rateLimits) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil {
			limits.succeeded()
		}
		if err == nil || status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return err
		}
		// go-plugin notices an exit a moment after the connection breaks.
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if exited() {
				return status.Errorf(codes.Aborted,
					"baton-cursor: the plugin %s exited unexpectedly during %s; see its log lines above, and run it again (the next attempt starts a fresh plugin)",
					path, method[strings.LastIndex(method, "/")+1:])
			}
		}
		return limits.final(err, "")
	}
}

// Locate finds the plugin binary: the explicit path, else beside the host
// executable, else on PATH.
func Locate(explicit string) (string, error) {
	if explicit != "" {
		if err := checkExecutable(explicit); err != nil {
			return "", status.Errorf(codes.FailedPrecondition, "baton-cursor: plugin-path %s", err)
		}
		return explicit, nil
	}
	var tried []string
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), BinaryName)
		if checkExecutable(beside) == nil {
			return beside, nil
		}
		tried = append(tried, "beside the host at "+beside)
	}
	if p, err := exec.LookPath(BinaryName); err == nil {
		return p, nil
	}
	tried = append(tried, "on PATH")
	return "", status.Errorf(codes.FailedPrecondition,
		"baton-cursor: cannot find %s (looked %s); install it next to baton-cursor or set --plugin-path",
		BinaryName, strings.Join(tried, " and "))
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: no such file", path)
	case err != nil:
		return fmt.Errorf("%s: %w", path, err)
	case fi.IsDir():
		return fmt.Errorf("%s is a directory, not the plugin binary", path)
	case fi.Mode()&0o111 == 0:
		return fmt.Errorf("%s is not executable (chmod +x it)", path)
	}
	return nil
}

// pluginEnv is the host's environment without baton's own settings, which
// hold secrets the plugin must only get through Configure, plus its log level.
func pluginEnv(environ []string, logger *zap.Logger) []string {
	env := handshake.WithoutHostSettings(environ)
	level := "info"
	if logger.Core().Enabled(zap.DebugLevel) {
		level = "debug"
	}
	return append(env, "BATON_CURSOR_PLUGIN_LOG_LEVEL="+level)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
