package kubernetes_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The pod as processes: the binaries run with the rendered Deployment's command, args and
// environment, as its user (when the test runs as root), each container with its own TMPDIR
// standing in for the emptyDir at /tmp and a working directory where the image has it. The
// image itself, read-only root included, is run by pod_image_test.go.
func TestPodAsProcessesRunsASyncTask(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Log("not root: the containers run as this user, not as the Deployment's runAsUser")
	}
	for _, variant := range []string{baseDir, sidecarDir} {
		t.Run(variant, func(t *testing.T) { runPod(t, variant, processRunner{}) })
	}
}

type processRunner struct{}

func (processRunner) start(t *testing.T, c *cluster, variant string, pc podContainer) (started, error) {
	bin, ok := strings.CutPrefix(pc.argv[0], "/usr/local/bin/")
	if !ok {
		t.Fatalf("container %s runs %s, which is not in the image", pc.name, pc.argv[0])
	}
	// /tmp: an emptyDir the container's user owns; without one, a directory it cannot write,
	// as the image's /tmp under a read-only root.
	tmp := worldReadableDir(t)
	if pc.tmp != "" && os.Geteuid() == 0 {
		if err := os.Chown(tmp, int(pc.uid), int(pc.gid)); err != nil {
			t.Fatal(err)
		}
	}
	// Secret volumes live where this test can put them; paths naming them are moved there.
	dirs := map[string]string{}
	for mount, secret := range pc.secrets {
		dirs[mount] = c.secretFiles(t, variant, secret, pc.gid)
	}
	moved := func(s string) string {
		for mount, dir := range dirs {
			if rest, ok := strings.CutPrefix(s, mount); ok {
				return dir + rest
			}
		}
		return s
	}
	args := make([]string, 0, len(pc.argv)-1)
	for _, a := range pc.argv[1:] {
		args = append(args, moved(a))
	}
	cmd := exec.Command(filepath.Join(binDir, bin), args...)
	cmd.Env = []string{"PATH=" + binDir, "TMPDIR=" + tmp}
	for k, v := range pc.env {
		cmd.Env = append(cmd.Env, k+"="+moved(v))
	}
	cmd.Dir = tmp // the image's WORKDIR is /tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(pc.uid), Gid: uint32(pc.gid)}
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

type process struct {
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
}

func (p *process) output() string { return p.out.String() }
func (p *process) pids() []int {
	select {
	case <-p.done:
		return nil
	default:
		return descendants(p.cmd.Process.Pid)
	}
}

// stop sends SIGTERM as the kubelet does, and SIGKILL after the grace period.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
