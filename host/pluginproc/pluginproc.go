// Package pluginproc starts baton-cursor-plugin as a go-plugin subprocess of
// the host, lazily, in the process that syncs, and makes sure it dies with it.
package pluginproc

import (
	"context"
	"errors"
	"fmt"
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

// Lazy starts the plugin on first use and configures it once.
type Lazy struct {
	opts Options

	mu     sync.Mutex
	path   string
	client *plugin.Client
	svc    pluginv1.PluginServiceClient
}

// NewLazy returns a Lazy that has started nothing yet.
func NewLazy(opts Options) *Lazy {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Lazy{opts: opts}
}

// Get returns a configured plugin client, starting the plugin if needed.
func (l *Lazy) Get(ctx context.Context) (pluginv1.PluginServiceClient, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.svc != nil {
		if l.client.Exited() {
			return nil, l.exitedError("")
		}
		return l.svc, nil
	}
	svc, err := l.start(ctx)
	if err != nil {
		return nil, err
	}
	l.svc = svc
	return svc, nil
}

// Kill stops the plugin if it runs. Safe to call at any time, more than once.
func (l *Lazy) Kill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		l.client.Kill()
	}
}

func (l *Lazy) start(ctx context.Context) (pluginv1.PluginServiceClient, error) {
	if err := ctx.Err(); err != nil { // the run was cancelled: start nothing
		return nil, err
	}
	if l.client != nil { // a previous start got a process but Configure failed
		l.client.Kill()
		l.client = nil
	}
	path, err := Locate(l.opts.Path)
	if err != nil {
		return nil, err
	}
	l.path = path
	cmd := exec.Command(path)
	cmd.Env = pluginEnv(os.Environ(), l.opts.Logger)
	isolate(cmd)

	cfg := handshake.ClientConfig(cmd, newHCLogger(l.opts.Logger))
	cfg.SkipHostEnv = true // cmd.Env is the filtered environment: no secrets
	cfg.Managed = true     // plugin.CleanupClients kills it on the host's way out
	cfg.StartTimeout = 15 * time.Second
	cfg.SyncStdout = zapWriter{l.opts.Logger.Named("plugin-stdout")}
	cfg.SyncStderr = zapWriter{l.opts.Logger.Named("plugin-stderr")}
	cfg.GRPCDialOptions = []grpc.DialOption{grpc.WithChainUnaryInterceptor(l.finalUnavailable)}
	l.client = plugin.NewClient(cfg)

	svc, err := handshake.Dispense(l.client)
	if err != nil {
		killGroup(cmd)
		l.client.Kill()
		return nil, status.Errorf(codes.FailedPrecondition,
			"baton-cursor: could not start the plugin %s: %s (is it a baton-cursor-plugin of a matching version? `%s version` tells)",
			path, oneLine(err), path)
	}
	l.opts.Logger.Debug("plugin started", zap.String("path", path),
		zap.Int("protocol_version", l.client.NegotiatedVersion()))
	if _, err := svc.Configure(ctx, l.opts.Settings); err != nil {
		return nil, err
	}
	return svc, nil
}

// finalUnavailable rewrites Unavailable answers. From a plugin that died, it
// becomes one line naming the plugin. From a live plugin it means Cursor kept
// failing after the plugin's retries (Cursor's documented backoff); it becomes
// Aborted, because baton-sdk retries Unavailable list calls without limit and
// the sync would never end.
func (l *Lazy) finalUnavailable(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err == nil || status.Code(err) != codes.Unavailable || ctx.Err() != nil {
		return err
	}
	// go-plugin notices an exit a moment after the connection breaks.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if l.client.Exited() {
			return l.exitedError(method)
		}
	}
	return status.Error(codes.Aborted, status.Convert(err).Message())
}

func (l *Lazy) exitedError(method string) error {
	during := ""
	if method != "" {
		during = " during " + method[strings.LastIndex(method, "/")+1:]
	}
	return status.Errorf(codes.Internal,
		"baton-cursor: the plugin %s exited unexpectedly%s; see its log lines above, and run the sync again", l.path, during)
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
// hold secrets the plugin must only get through Configure.
func pluginEnv(environ []string, logger *zap.Logger) []string {
	env := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "BATON_") {
			env = append(env, kv)
		}
	}
	level := "info"
	if logger.Core().Enabled(zap.DebugLevel) {
		level = "debug"
	}
	return append(env, "BATON_CURSOR_PLUGIN_LOG_LEVEL="+level)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
