package kubernetes_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/protobuf/types/known/structpb"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/conductorone/baton-cursor/internal/c1sim"
	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// podMembers and podTasks: the pod tests run podTasks sync tasks of a team of podMembers, the
// size the Deployment's memory request is for (docs/benchmark-history.md, "The image and the pod").
const (
	podMembers = 10_000
	podTasks   = 3
)

// imageEntrypoint is the image's ENTRYPOINT (deploy/image/Dockerfile), what a container
// without a command runs.
const imageEntrypoint = "/usr/local/bin/baton-cursor"

// cluster is what the test supplies in place of a cluster, C1 and Cursor: a value for every
// key the variants' Secrets hold (as a secret store would), a simulated C1 and a simulated
// Cursor tenant.
type cluster struct {
	c1     *c1sim.Server
	tenant *simulator.Tenant
	cursor string            // the tenant's base URL
	values map[string]string // Secret key → value
	dir    string            // files the pod reads: the CA of the simulated C1
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	apiKey, scimToken := "crsr_"+randomHex(t, 24), "scim_"+randomHex(t, 24)
	tenant, err := simulator.New(simulator.Config{Members: podMembers, Seed: 9, APIKey: apiKey, SCIMToken: scimToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	c1, err := c1sim.Start(t.TempDir())
	if err != nil {
		t.Fatalf("c1sim.Start: %v", err)
	}
	t.Cleanup(c1.Close)
	// The pod's user must read the CA, which t.TempDir's 0700 directory would hide.
	dir := worldReadableDir(t)
	ca, err := os.ReadFile(c1.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	cursor := "http://" + ln.Addr().String()
	return &cluster{
		c1: c1, tenant: tenant, cursor: cursor, dir: dir,
		values: map[string]string{
			"BATON_CLIENT_ID":         c1.ClientID(),
			"BATON_CLIENT_SECRET":     c1.ClientSecret(),
			"BATON_PROVISIONING":      "true",
			"BATON_CURSOR_API_KEY":    apiKey,
			"BATON_CURSOR_SCIM_URL":   cursor + "/scim/v2",
			"BATON_CURSOR_SCIM_TOKEN": scimToken,
			"token":                   randomHex(t, 32), // the sidecar token
		},
	}
}

// secret is a Secret as the variant's README steps create it: the keys its
// secret.example.yaml lists, each with its value.
func (c *cluster) secret(t *testing.T, variant, name string) map[string]string {
	t.Helper()
	example := exampleSecrets(t, variant)[name]
	if example == nil {
		t.Fatalf("%s names Secret %s, which its secret.example.yaml lacks", variant, name)
	}
	out := map[string]string{}
	for _, k := range secretKeys(example) {
		v, ok := c.values[k]
		if !ok {
			t.Fatalf("Secret %s holds %s, for which this test has no value", name, k)
		}
		out[k] = v
	}
	return out
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// worldReadableDir is a directory every user can read and enter, removed after the test.
func worldReadableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "baton-cursor-pod-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// podContainer is one container of the rendered Deployment, as it would run.
type podContainer struct {
	name    string
	sidecar bool     // an init container with restartPolicy Always: started first
	argv    []string // command (else the image's entrypoint), then args
	env     map[string]string
	uid     int64
	gid     int64
	tmp     string            // the size of the emptyDir at /tmp, "" for none
	secrets map[string]string // mount path → Secret name (files: the Secret's keys)
	listen  string            // a sidecar's --listen address
}

// podContainers reads the containers out of the rendered Deployment: their command, args,
// environment (envFrom the Secrets, then env, which wins, as in Kubernetes), user and mounts.
// Only two things are added, for the simulated C1 and Cursor: BATON_C1_API_HOST and
// SSL_CERT_FILE where the C1 credentials are, and BATON_CURSOR_BASE_URL where the Cursor key is.
func (c *cluster) podContainers(t *testing.T, variant string, d *appsv1.Deployment) []podContainer {
	t.Helper()
	pod := d.Spec.Template.Spec
	mounts := map[string]*corev1.Volume{}
	for i := range pod.Volumes {
		mounts[pod.Volumes[i].Name] = &pod.Volumes[i]
	}
	var out []podContainer
	for _, k := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		pc := podContainer{name: k.Name, env: map[string]string{}, secrets: map[string]string{}}
		pc.sidecar = k.RestartPolicy != nil && *k.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if !pc.sidecar && containsContainer(pod.InitContainers, k.Name) {
			t.Fatalf("init container %s is not a sidecar; this test runs sidecars only", k.Name)
		}
		pc.argv = append([]string{imageEntrypoint}, k.Args...)
		if len(k.Command) > 0 {
			pc.argv = append(append([]string{}, k.Command...), k.Args...)
		}
		pc.listen = flagValue(k.Args, "--listen")
		pc.uid, pc.gid = *pod.SecurityContext.RunAsUser, *pod.SecurityContext.RunAsGroup
		if sc := k.SecurityContext; sc != nil && sc.RunAsUser != nil {
			pc.uid = *sc.RunAsUser
		}
		for _, from := range k.EnvFrom {
			for key, v := range c.secret(t, variant, from.SecretRef.Name) {
				pc.env[key] = v
			}
		}
		for _, e := range k.Env {
			if e.ValueFrom != nil {
				t.Fatalf("container %s: %s uses valueFrom, which this test does not resolve", k.Name, e.Name)
			}
			pc.env[e.Name] = e.Value
		}
		if _, ok := pc.env["BATON_CLIENT_ID"]; ok {
			pc.env["BATON_C1_API_HOST"] = c.c1.Addr()
			pc.env["SSL_CERT_FILE"] = filepath.Join(c.dir, "ca.pem")
		}
		if _, ok := pc.env["BATON_CURSOR_API_KEY"]; ok {
			pc.env["BATON_CURSOR_BASE_URL"] = c.cursor
		}
		for _, m := range k.VolumeMounts {
			v := mounts[m.Name]
			switch {
			case v == nil:
				t.Fatalf("container %s mounts %s, which is no volume", k.Name, m.Name)
			case v.EmptyDir != nil && m.MountPath == "/tmp":
				pc.tmp = "1g"
				if v.EmptyDir.SizeLimit != nil {
					pc.tmp = fmt.Sprint(v.EmptyDir.SizeLimit.Value())
				}
			case v.Secret != nil && m.ReadOnly:
				pc.secrets[m.MountPath] = v.Secret.SecretName
			default:
				t.Fatalf("container %s mounts %s at %s, which this test cannot emulate", k.Name, m.Name, m.MountPath)
			}
		}
		out = append(out, pc)
	}
	return out
}

func containsContainer(cs []corev1.Container, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

// secretFiles writes a Secret as a mounted volume does: one file per key, readable by the
// pod's group only (defaultMode 0440 with fsGroup).
func (c *cluster) secretFiles(t *testing.T, variant, name string, gid int64) string {
	t.Helper()
	dir := worldReadableDir(t)
	for k, v := range c.secret(t, variant, name) {
		f := filepath.Join(dir, k)
		if err := os.WriteFile(f, []byte(v), 0o440); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(f, 0, int(gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// runner starts one container of the pod and stops it.
type runner interface {
	start(t *testing.T, c *cluster, variant string, pc podContainer) (started, error)
}

// started is a running container: its output, the pids of its processes, a way to stop it.
type started interface {
	output() string
	pids() []int
	stop()
}

// syncTask runs one sync task and checks that C1 received the tenant.
func (c *cluster) syncTask(t *testing.T, ctx context.Context, logs func() string) {
	t.Helper()
	id := c.c1.EnqueueSync()
	out, err := c.c1.WaitOutcome(ctx, id)
	if err != nil {
		t.Fatalf("sync task %s: no outcome: %v\n%s", id, err, logs())
	}
	if !out.Success {
		t.Fatalf("sync task %s failed: %v %s\n%s", id, out.Code, out.Message, logs())
	}
	ups := c.c1.Uploads(id)
	if len(ups) != 1 {
		t.Fatalf("sync task %s: %d uploads, want 1", id, len(ups))
	}
	contents, err := c1zread.Read(context.Background(), ups[0].Path)
	if err != nil {
		t.Fatalf("read the uploaded c1z: %v", err)
	}
	want := map[string]bool{}
	for _, m := range c.tenant.Members() {
		want[strings.ToLower(m.Email)] = true
	}
	users := contents.OfType("user")
	if len(users) != len(want) {
		t.Errorf("the uploaded c1z holds %d users, the tenant %d", len(users), len(want))
	}
	for _, u := range users {
		if !want[u.GetId().GetResource()] {
			t.Errorf("user %q is not a member of the tenant", u.GetId().GetResource())
			break
		}
	}
}

// createAccountTask has C1 create a Cursor account and checks that it reports it created.
func (c *cluster) createAccountTask(t *testing.T, ctx context.Context, logs func() string) {
	t.Helper()
	const email = "pod-newhire@example.com"
	profile, err := structpb.NewStruct(map[string]any{"email": email, "given_name": "Pod", "family_name": "Newhire"})
	if err != nil {
		t.Fatal(err)
	}
	id := c.c1.EnqueueCreateAccount(v2.AccountInfo_builder{Login: email, Profile: profile}.Build())
	out, err := c.c1.WaitOutcome(ctx, id)
	if err != nil {
		t.Fatalf("create_account task %s: no outcome: %v\n%s", id, err, logs())
	}
	if !out.Success {
		t.Fatalf("create_account task %s failed: %v %s\n%s", id, out.Code, out.Message, logs())
	}
	var resp v2.CreateAccountResponse
	if err := out.Response.UnmarshalTo(&resp); err != nil {
		t.Fatalf("create_account answered %s, not a CreateAccountResponse: %v", out.Response.GetTypeUrl(), err)
	}
	if got := resp.GetActionRequired().GetResource().GetId().GetResource(); got != email {
		t.Errorf("create_account reported %v, want the account %s (created, waiting for its first sign-in)", &resp, email)
	}
}

// runPod starts the pod's containers as Kubernetes does (sidecars first, each once it has
// started) and runs one sync task through them. It returns the peak of the summed RSS of all
// the pod's processes during the task.
func runPod(t *testing.T, variant string, r runner) {
	d, _ := render(t, variant)
	c := newCluster(t)
	containers := c.podContainers(t, variant, d)

	var running []started
	stopAll := func() {
		for i := len(running) - 1; i >= 0; i-- {
			running[i].stop()
		}
		running = nil
	}
	defer stopAll()
	logs := func() string {
		var b strings.Builder
		for i, s := range running {
			fmt.Fprintf(&b, "--- %s:\n%s\n", containers[i].name, tail(s.output(), 30))
		}
		return b.String()
	}
	var host podContainer
	for _, pc := range containers {
		if !pc.sidecar {
			host = pc
		}
		checkPortFree(t, pc)
		s, err := r.start(t, c, variant, pc)
		if err != nil {
			t.Fatalf("start container %s: %v\n%s", pc.name, err, logs())
		}
		running = append(running, s)
		if pc.sidecar && pc.listen != "" {
			waitListening(t, pc.listen, s)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hello, err := c.c1.WaitHello(ctx)
	if err != nil {
		t.Fatalf("no Hello from the pod: %v\n%s", err, logs())
	}
	if hello.HostID != host.env["BATON_HOST_ID"] {
		t.Errorf("C1 heard host id %q, the Deployment sets BATON_HOST_ID=%q", hello.HostID, host.env["BATON_HOST_ID"])
	}

	pids := func() []int {
		var all []int
		for _, s := range running {
			all = append(all, s.pids()...)
		}
		return all
	}
	// A long-running pod's memory settles after its first task (BENCHMARKS.md, "Service mode:
	// memory over many sync tasks"), so size from several.
	var peaks []string
	var peakBytes int64
	for range podTasks {
		peak := watchRSS(pids)
		c.syncTask(t, ctx, logs)
		p := peak()
		peakBytes = max(peakBytes, p)
		peaks = append(peaks, fmt.Sprintf("%.1f", float64(p)/(1<<20)))
	}

	// Provisioning, as BATON_PROVISIONING in the Secret asks: C1 creates an account through SCIM.
	c.createAccountTask(t, ctx, logs)

	// The probes: baton's health server answers /live and /ready on the port the probes name.
	for _, path := range []string{"/live", "/ready"} {
		if err := get("http://127.0.0.1:" + host.env["BATON_HEALTH_CHECK_PORT"] + path); err != nil {
			t.Errorf("probe %s: %v", path, err)
		}
	}

	limit := int64(0)
	for _, k := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
		limit += k.Resources.Limits.Memory().Value()
	}
	t.Logf("%s: %d sync tasks of %d members; the pod's processes' summed RSS peaked at %s MiB (memory limits: %d MiB)",
		variant, podTasks, podMembers, strings.Join(peaks, ", "), limit>>20)
	var cgroupPeak int64
	for _, s := range running {
		if m, ok := s.(interface{ memoryPeak() int64 }); ok {
			cgroupPeak += m.memoryPeak()
		}
	}
	if cgroupPeak > 0 {
		t.Logf("%s: the containers' cgroup memory peaks (page cache and tmpfs included) add up to %.1f MiB", variant, float64(cgroupPeak)/(1<<20))
	}
	// Stopping the pod (SIGTERM, SIGKILL after the grace period) ends every process it ran:
	// no plugin is left behind.
	before := map[int]string{}
	for _, pid := range pids() {
		before[pid] = procStart(pid)
	}
	stopAll()
	deadline := time.Now().Add(30 * time.Second)
	for pid, start := range before {
		for procStart(pid) == start && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if procStart(pid) == start {
			t.Errorf("process %d outlived the pod: %s", pid, cmdline(pid))
		}
	}
	if peakBytes == 0 {
		t.Error("measured no RSS: the pod's processes were not found")
	}
	if peakBytes >= limit {
		t.Errorf("the pod's processes peaked at %d MiB, over the Deployment's memory limits (%d MiB): Kubernetes would kill them", peakBytes>>20, limit>>20)
	}
}

// checkPortFree: the pod's ports are used as the Deployment sets them, on this machine's
// loopback; say so plainly when something else holds one.
func checkPortFree(t *testing.T, pc podContainer) {
	t.Helper()
	ports := []string{}
	if p := pc.env["BATON_HEALTH_CHECK_PORT"]; p != "" {
		ports = append(ports, net.JoinHostPort(pc.env["BATON_HEALTH_CHECK_BIND_ADDRESS"], p))
	}
	if pc.listen != "" {
		ports = append(ports, pc.listen)
	}
	for _, addr := range ports {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is taken on this machine (%v); the pod test runs the Deployment's ports as they are: stop what holds it", addr, err)
		}
		ln.Close()
	}
}

// waitListening waits until a sidecar accepts connections, as the host would find it.
func waitListening(t *testing.T, addr string, s started) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sidecar never listened on %s:\n%s", addr, tail(s.output(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// watchRSS polls the summed VmRSS of the processes pids lists until the returned function is
// called, which returns the peak.
func watchRSS(pids func() []int) func() int64 {
	stop, done := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var sum int64
			for _, pid := range pids() {
				sum += rss(pid)
			}
			peak = max(peak, sum)
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 { close(stop); return <-done }
}

// rss is a process's resident set in bytes, 0 when it is gone.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// procStart is a running process's start time (field 22 of /proc/PID/stat), "" once it has
// exited; with the pid it names one process whatever pid reuse does.
func procStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])) // from field 3, the state
	if len(f) < 20 || f[0] == "Z" {
		return ""
	}
	return f[19]
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
}

// descendants lists every descendant of pid (and pid), from /proc.
func descendants(pid int) []int {
	parent := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var p int
		if _, err := fmt.Sscanf(e.Name(), "%d", &p); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		var state string
		var ppid int
		if _, err := fmt.Sscanf(rest, " %s %d", &state, &ppid); err == nil {
			parent[ppid] = append(parent[ppid], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
