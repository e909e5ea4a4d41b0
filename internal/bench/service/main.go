//go:build linux

// Command service measures memory over a pod's life in service mode: one
// baton-cursor process runs -tasks full sync tasks from a simulated C1
// (internal/c1sim) against a simulated Cursor team of -members, and the
// process tree's summed RSS (every process, as a Kubernetes memory limit
// counts it) is read from /proc after each task. The budget (docs/design.md):
// after the last task within 10% of after the 3rd. It prints the figures and
// writes them as a section of -out (replacing an earlier one); it exits 1
// over budget.
package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"flag"
	"fmt"
	"github.com/conductorone/baton-cursor/internal/bench/mdsection"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conductorone/baton-cursor/internal/c1sim"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

const (
	sectionTitle = "## Service mode: memory over many sync tasks"
	baseTask     = 3    // the figure after this task is the baseline
	budget       = 1.10 // the last task's figure over the baseline
)

func main() {
	bin := flag.String("bin", "bin", "directory holding baton-cursor and baton-cursor-plugin")
	members := flag.Int("members", 10_000, "team size")
	tasks := flag.Int("tasks", 20, "sync tasks to run in one process")
	settle := flag.Duration("settle", 2*time.Second, "wait after each task before reading RSS")
	out := flag.String("out", "", "markdown file to write the section to (empty: print only)")
	logPath := flag.String("log", "", "also write baton-cursor's output to this file")
	flag.Parse()
	if *tasks <= baseTask {
		fmt.Fprintf(os.Stderr, "service: -tasks must be more than %d\n", baseTask)
		os.Exit(2)
	}
	section, ok, err := measure(*bin, *members, *tasks, *settle, *logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
	fmt.Print(section)
	if *out != "" {
		if err := mdsection.Write(*out, sectionTitle, section); err != nil {
			fmt.Fprintln(os.Stderr, "service:", err)
			os.Exit(1)
		}
	}
	if !ok {
		os.Exit(1)
	}
}

func measure(bin string, members, tasks int, settle time.Duration, logPath string) (string, bool, error) {
	began, loadBefore := time.Now(), mdsection.LoadAvg()
	tmp, err := os.MkdirTemp("", "bench-service-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)

	const key = "crsr_bench-service-key"
	tenant, err := simulator.New(simulator.Config{Members: members, Seed: 1, APIKey: key})
	if err != nil {
		return "", false, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", false, err
	}
	srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	c1, err := c1sim.Start(tmp)
	if err != nil {
		return "", false, err
	}
	defer c1.Close()

	var logs bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "baton-cursor"))
	cmd.Env = append(os.Environ(), c1.Env()...)
	cmd.Env = append(cmd.Env, "BATON_CURSOR_API_KEY="+key, "BATON_CURSOR_BASE_URL=http://"+ln.Addr().String(),
		"BATON_HOST_ID=bench-service")
	var sink io.Writer = &logs
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return "", false, err
		}
		defer f.Close()
		sink = io.MultiWriter(&logs, f)
	}
	cmd.Stdout, cmd.Stderr = sink, sink
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", false, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()

	rss := make([]int64, tasks+1) // KiB after task i (1-based)
	procs := make([]int, tasks+1)
	started := time.Now()
	for i := 1; i <= tasks; i++ {
		id := c1.EnqueueSync()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		o, err := c1.WaitOutcome(ctx, id)
		cancel()
		if err != nil || !o.Success {
			return "", false, fmt.Errorf("sync task %d: %+v %v; output:\n%s", i, o, err, lastLines(logs.String(), 20))
		}
		// Drop the upload: only the connector's memory is measured.
		for _, u := range c1.Uploads(id) {
			_ = os.Remove(u.Path)
		}
		time.Sleep(settle)
		var each string
		rss[i], procs[i], each = treeRSS(cmd.Process.Pid)
		fmt.Fprintf(os.Stderr, "task %2d: tree RSS %6.1f MiB (%d processes:%s)\n", i, mib(rss[i]), procs[i], each)
	}
	ratio := float64(rss[tasks]) / float64(rss[baseTask])
	ok := ratio <= budget

	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n", sectionTitle, mdsection.Stamp(began, loadBefore))
	fmt.Fprintf(&b, "`go run ./internal/bench/service` (part of `make bench`): one `baton-cursor` in service mode runs %d full sync "+
		"tasks from the simulated C1 (`internal/c1sim`) against a simulated team of %d members; after each task (and %v) "+
		"the summed VmRSS of every process of its tree (%d processes: the host's processes and the plugin) is read from /proc. "+
		"%d tasks took %v.\n\n", tasks, members, settle, procs[tasks], tasks, time.Since(started).Round(time.Second))
	fmt.Fprintf(&b, "Binaries: %s (`make build`, the image's build).\n\n", buildOf(filepath.Join(bin, "baton-cursor")))
	fmt.Fprintf(&b, "| after task | tree RSS (MiB) |\n| --- | --- |\n")
	for i := 1; i <= tasks; i++ {
		fmt.Fprintf(&b, "| %d | %.1f |\n", i, mib(rss[i]))
	}
	verdict := "within"
	if !ok {
		verdict = "OVER"
	}
	fmt.Fprintf(&b, "\nAfter task %d / after task %d: **%.3fx** (budget %.2fx): %s budget.\n", tasks, baseTask, ratio, budget, verdict)
	return b.String(), ok, nil
}

// buildOf says how the binary was built: cgo on or off.
func buildOf(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "build settings unknown (" + err.Error() + ")"
	}
	cgo := "unset"
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" {
			cgo = s.Value
		}
	}
	return fmt.Sprintf("%s, %s, CGO_ENABLED=%s", filepath.Base(path), info.GoVersion, cgo)
}

// treeRSS sums VmRSS (KiB) over root and every live process below it; each
// lists them with their anonymous and file-backed parts.
func treeRSS(root int) (sum int64, n int, each string) {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name (in parentheses): state ppid ...
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 1 && f[0] != "Z" {
				parent[pid], _ = strconv.Atoi(f[1])
			}
		}
	}
	for pid := range parent {
		if !descends(parent, pid, root) {
			continue
		}
		kb := statusKB(pid, "VmRSS")
		sum += kb
		n++
		each += fmt.Sprintf(" [%s %.0f MiB: anon %.0f file %.0f]", role(pid), mib(kb),
			mib(statusKB(pid, "RssAnon")), mib(statusKB(pid, "RssFile")))
	}
	return sum, n, each
}

// role names a process by its binary and, for baton-sdk's child, its subcommand.
func role(pid int) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	name := filepath.Base(argv[0])
	if len(argv) > 1 && argv[len(argv)-1] == "_connector-service" {
		name += " _connector-service"
	}
	return name
}

func descends(parent map[int]int, pid, root int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		if pid == root {
			return true
		}
		pid = parent[pid]
	}
	return false
}

// statusKB reads one "Name:   N kB" field of /proc/pid/status.
func statusKB(pid int, name string) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
