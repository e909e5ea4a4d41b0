package kubernetes_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The pod as containers of the image `make image` builds: docker runs each container of the
// rendered Deployment with its command, args, environment and user, a read-only root, an
// in-memory /tmp where the Deployment mounts its emptyDir (sized as it), its Secret volumes,
// no capabilities and no privilege escalation. The host's network stands in for the pod's:
// the containers share its loopback, as a pod's containers share theirs.
func TestPodAsImageRunsASyncTask(t *testing.T) {
	image := testImage(t)
	for _, variant := range []string{baseDir, sidecarDir} {
		t.Run(variant, func(t *testing.T) { runPod(t, variant, dockerRunner{image: image}) })
	}
}

var (
	imageOnce  sync.Once
	imageName  string // built once per test binary, removed by TestMain
	imageError error
)

// testImage builds the image with make image, or skips the test when no Docker daemon
// answers (.ci/run installs and starts one).
func testImage(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: the image was not run: no Docker daemon answers (%v: %s); .ci/run installs docker.io and starts dockerd",
			err, strings.TrimSpace(tail(string(out), 2)))
	}
	imageOnce.Do(func() {
		name := fmt.Sprintf("baton-cursor:podtest-%d", os.Getpid())
		build := exec.Command("make", "image", "IMAGE="+name)
		build.Dir = moduleRoot
		if out, err := build.CombinedOutput(); err != nil {
			imageError = fmt.Errorf("make image: %v\n%s", err, out)
			return
		}
		imageName = name
	})
	if imageError != nil {
		t.Fatal(imageError)
	}
	return imageName
}

func removeTestImage() {
	if imageName != "" {
		_ = exec.Command("docker", "rmi", "-f", imageName).Run()
	}
}

type dockerRunner struct{ image string }

func (r dockerRunner) start(t *testing.T, c *cluster, variant string, pc podContainer) (started, error) {
	name := fmt.Sprintf("baton-cursor-podtest-%d-%s-%s", os.Getpid(), variant, pc.name)
	args := []string{"run", "--detach", "--name", name, "--network", "host",
		"--read-only", "--user", fmt.Sprintf("%d:%d", pc.uid, pc.gid),
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		// The simulated C1's CA, at the path SSL_CERT_FILE names.
		"--volume", c.dir + ":" + c.dir + ":ro"}
	if pc.tmp != "" {
		args = append(args, "--tmpfs", "/tmp:rw,mode=1777,size="+pc.tmp)
	}
	for mount, secret := range pc.secrets {
		args = append(args, "--volume", c.secretFiles(t, variant, secret, pc.gid)+":"+mount+":ro")
	}
	// Values in a file, not on docker's command line, as a Secret never is.
	envFile := filepath.Join(t.TempDir(), "env")
	var env strings.Builder
	for k, v := range pc.env {
		fmt.Fprintf(&env, "%s=%s\n", k, v)
	}
	if err := os.WriteFile(envFile, []byte(env.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, "--env-file", envFile)
	if pc.argv[0] != imageEntrypoint {
		args = append(args, "--entrypoint", pc.argv[0])
	}
	args = append(append(args, r.image), pc.argv[1:]...)
	id, err := exec.Command("docker", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("docker run: %v", err)
	}
	ctr := &dockerContainer{name: name, id: strings.TrimSpace(string(id))}
	out, err := exec.Command("docker", "inspect", "--format", "{{.State.Pid}}", name).Output()
	if err != nil {
		ctr.stop()
		return nil, fmt.Errorf("docker inspect %s: %v", name, err)
	}
	ctr.pid, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	return ctr, nil
}

type dockerContainer struct {
	name string
	id   string
	pid  int // the container's first process, in this machine's pid namespace
}

func (c *dockerContainer) output() string {
	out, _ := exec.Command("docker", "logs", c.name).CombinedOutput()
	return string(out)
}

func (c *dockerContainer) pids() []int {
	if c.pid == 0 {
		return nil
	}
	return descendants(c.pid)
}

// stop is docker's SIGTERM, then SIGKILL after the Deployment's grace period.
func (c *dockerContainer) stop() {
	_ = exec.Command("docker", "stop", "--time", "30", c.name).Run()
	_ = exec.Command("docker", "rm", "--force", c.name).Run()
}

// memoryPeak is the container's cgroup memory high-water mark: what a memory limit counts
// (page cache and the tmpfs at /tmp included). 0 when this machine's cgroup layout is unknown.
func (c *dockerContainer) memoryPeak() int64 {
	for _, f := range []string{
		"/sys/fs/cgroup/memory/docker/" + c.id + "/memory.max_usage_in_bytes", // cgroup v1, cgroupfs
		"/sys/fs/cgroup/docker/" + c.id + "/memory.peak",                      // v2, cgroupfs
		"/sys/fs/cgroup/system.slice/docker-" + c.id + ".scope/memory.peak",   // v2, systemd
	} {
		if b, err := os.ReadFile(f); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
				return n
			}
		}
	}
	return 0
}
