//go:build linux

// Package e2e runs the real baton-cursor and baton-cursor-plugin binaries
// against the simulated Cursor tenant served on loopback. It is Linux-only
// (every file is //go:build linux): it reads /proc and signals process
// groups. A new file here needs the same line, or `make cross` fails.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// Paths of the binaries TestMain builds once for every test.
var (
	binDir     string
	hostBin    string
	pluginBin  string
	holdBin    string // baton-cursor built with the test hooks (host/oneshot/hold_testhooks.go)
	binVersion = "e2e-test"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "baton-cursor-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	hostBin = filepath.Join(dir, "baton-cursor")
	pluginBin = filepath.Join(dir, "baton-cursor-plugin")

	build := exec.Command("go", "build", "-o", dir, "-ldflags", "-X main.version="+binVersion,
		"./host/cmd/baton-cursor", "./plugin/cmd/baton-cursor-plugin")
	build.Dir = filepath.Join("..", "..") // the module root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the binaries failed: %v\n%s", err, out)
		return 1
	}
	// Beside the plugin, so that it finds it as the real host does.
	holdBin = filepath.Join(dir, "baton-cursor-hold")
	build = exec.Command("go", "build", "-o", holdBin, "-tags", "batoncursor_testhooks", "./host/cmd/baton-cursor")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the test-hook host failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// testKey is a recognisable, realistic Admin API key, built in code.
func testKey() string {
	return "crsr_" + strings.Repeat("e2eK3y", 11)[:64]
}

// newTenant starts the simulated tenant on loopback. The API key defaults to testKey.
func newTenant(t *testing.T, cfg simulator.Config) (*simulator.Tenant, *httptest.Server) {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey()
	}
	tenant, err := simulator.New(cfg)
	if err != nil {
		t.Fatalf("simulator.New: %v", err)
	}
	srv := httptest.NewServer(tenant)
	t.Cleanup(srv.Close)
	return tenant, srv
}

// syncBuf collects a process's interleaved stdout and stderr.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hostRun is one started baton-cursor process.
type hostRun struct {
	cmd   *exec.Cmd
	out   *syncBuf
	start time.Time
	dir   string // working directory, a fresh temp dir

	done     chan struct{}
	waitErr  error
	duration time.Duration
}

// runOpts says how to run the host.
type runOpts struct {
	Bin     string   // default hostBin
	Args    []string // after the binary name
	Key     *string  // BATON_CURSOR_API_KEY; nil = not set at all
	Env     []string // extra environment
	PathEnv string   // PATH; "" = the test's PATH
}

// hostEnv is the test's environment without any BATON_ variable, plus extra.
func hostEnv(o runOpts) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BATON_") || (o.PathEnv != "" && strings.HasPrefix(kv, "PATH=")) {
			continue
		}
		env = append(env, kv)
	}
	if o.PathEnv != "" {
		env = append(env, "PATH="+o.PathEnv)
	}
	if o.Key != nil {
		env = append(env, "BATON_CURSOR_API_KEY="+*o.Key)
	}
	return append(env, o.Env...)
}

// startHost starts the host in its own process group; the test's cleanup
// kills that group (only processes this test started) if it still runs.
func startHost(t *testing.T, o runOpts) *hostRun {
	t.Helper()
	bin := o.Bin
	if bin == "" {
		bin = hostBin
	}
	r := &hostRun{out: &syncBuf{}, dir: t.TempDir(), done: make(chan struct{})}
	// A TMPDIR of its own (a test's may override it): the cleanup below
	// SIGKILLs the run, which leaves its temp folders behind.
	o.Env = append([]string{"TMPDIR=" + shortTempDir(t)}, o.Env...)
	r.cmd = exec.Command(bin, o.Args...)
	r.cmd.Dir = r.dir
	r.cmd.Env = hostEnv(o)
	r.cmd.Stdout = r.out
	r.cmd.Stderr = r.out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A child left holding the output pipe must not keep Wait from returning.
	r.cmd.WaitDelay = 5 * time.Second
	r.start = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	pgid := r.cmd.Process.Pid
	go func() {
		r.waitErr = r.cmd.Wait()
		r.duration = time.Since(r.start)
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("host process %d did not end after SIGKILL of its group", pgid)
		}
	})
	return r
}

// wait waits up to limit for the host to exit. It fails the test (after
// killing the process group) when the host takes longer.
func (r *hostRun) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
		t.Fatalf("baton-cursor %s did not exit within %v; output:\n%s",
			strings.Join(r.cmd.Args[1:], " "), limit, tail(r.out.String(), 40))
	}
}

// exitCode is the process's exit status (-1 when killed by a signal).
func (r *hostRun) exitCode() int {
	if r.cmd.ProcessState == nil {
		return -1
	}
	return r.cmd.ProcessState.ExitCode()
}

// runHost runs the host to completion within limit.
func runHost(t *testing.T, o runOpts, limit time.Duration) *hostRun {
	t.Helper()
	r := startHost(t, o)
	r.wait(t, limit)
	return r
}

// syncArgs are the flags of a one-shot sync into dir/out.c1z.
func syncArgs(baseURL, c1z string, extra ...string) []string {
	return append([]string{"--cursor-base-url", baseURL, "-f", c1z}, extra...)
}

func strPtr(s string) *string { return &s }

// lastLine is the output's last non-empty line.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\r\n\t "), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			return lines[i]
		}
	}
	return ""
}

// tail is the last n lines of out, for failure messages.
func tail(out string, n int) string {
	lines := strings.Split(out, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// anyLine returns the first output line containing every one of parts.
func anyLine(out string, parts ...string) (string, bool) {
	for _, line := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok {
			return line, true
		}
	}
	return "", false
}

// requireFailure checks a non-zero exit and a line naming every one of parts.
func requireFailure(t *testing.T, r *hostRun, parts ...string) {
	t.Helper()
	out := r.out.String()
	if code := r.exitCode(); code == 0 {
		t.Errorf("exit code 0, want non-zero; output:\n%s", tail(out, 20))
	}
	if _, ok := anyLine(out, parts...); !ok {
		t.Errorf("no output line names all of %q; output:\n%s", parts, tail(out, 20))
	}
}

// requireNoFinishedSync checks that path does not hold a sync that claims to
// be complete: the file is absent, unreadable as a c1z, or has no finished sync.
func requireNoFinishedSync(t *testing.T, path string) {
	t.Helper()
	c, err := c1zread.Read(context.Background(), path)
	if err == nil {
		t.Errorf("%s holds a finished sync %s (%d resources) after a failed run", path, c.SyncID, len(c.Resources))
	}
}

// --- /proc helpers ---

// procInfo is what the tests need to know of one process.
type procInfo struct {
	pid   int
	ppid  int
	state byte
	argv  []string
}

// readProc reads /proc/pid; ok is false when the process is gone.
func readProc(pid int) (procInfo, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}, false
	}
	// The command name is in parentheses and may contain spaces; the fields
	// after the last ')' are: state ppid ...
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procInfo{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	info := procInfo{pid: pid, ppid: ppid, state: fields[0][0]}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		info.argv = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	}
	return info, true
}

// allProcs lists every process visible in /proc.
func allProcs() []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// descendsFrom reports whether pid has ancestor among its parents.
// processTree lists root, first, and every live process below it.
func processTree(root int) []procInfo {
	procs := allProcs()
	byPid := make(map[int]procInfo, len(procs))
	for _, p := range procs {
		byPid[p.pid] = p
	}
	var out []procInfo
	if p, ok := byPid[root]; ok && p.state != 'Z' {
		out = append(out, p)
	}
	for _, p := range procs {
		if p.state != 'Z' && p.pid != root && descendsFrom(byPid, p.pid, root) {
			out = append(out, p)
		}
	}
	return out
}

func descendsFrom(byPid map[int]procInfo, pid, ancestor int) bool {
	for seen := 0; pid > 1 && seen < 64; seen++ {
		p, ok := byPid[pid]
		if !ok {
			return false
		}
		if p.ppid == ancestor {
			return true
		}
		pid = p.ppid
	}
	return false
}

// findDescendant returns a live descendant of root whose argv[0] is bin.
func findDescendant(root int, bin string) (procInfo, bool) {
	procs := allProcs()
	byPid := make(map[int]procInfo, len(procs))
	for _, p := range procs {
		byPid[p.pid] = p
	}
	for _, p := range procs {
		if p.state != 'Z' && len(p.argv) > 0 && p.argv[0] == bin && descendsFrom(byPid, p.pid, root) {
			return p, true
		}
	}
	return procInfo{}, false
}

// waitForPlugin polls for the plugin process the host r started.
func waitForPlugin(t *testing.T, r *hostRun, limit time.Duration) procInfo {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if p, ok := findDescendant(r.cmd.Process.Pid, pluginBin); ok {
			return p
		}
		select {
		case <-r.done:
			t.Fatalf("the host exited (code %d) before its plugin process was seen; output:\n%s",
				r.exitCode(), tail(r.out.String(), 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s process under host %d within %v; output:\n%s",
				pluginBin, r.cmd.Process.Pid, limit, tail(r.out.String(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procGone reports whether pid no longer runs (absent, or a zombie).
func procGone(pid int) bool {
	p, ok := readProc(pid)
	return !ok || p.state == 'Z' || p.state == 'X'
}

// waitGone polls until pid is gone or limit passes.
func waitGone(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		if procGone(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// errNoSuchProc is returned when a /proc file cannot be read.
var errNoSuchProc = errors.New("process is gone")

// readProcFile reads /proc/pid/name.
func readProcFile(pid int, name string) ([]byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoSuchProc
	}
	return b, err
}
