package kubernetes_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The two ways to run it, and the Secrets each expects (examples with placeholders).
const (
	baseDir    = "base"
	sidecarDir = "plugin-sidecar"
)

// decodeStrict decodes one YAML document into the API type of its kind; an unknown field, a
// field in the wrong case and a duplicate key are errors, as for the API server's strict field
// validation (sigs.k8s.io/json, which the API server uses: encoding/json alone matches field
// names ignoring case, so readOnlyRootFileSystem would pass for readOnlyRootFilesystem).
func decodeStrict(doc []byte) (any, error) {
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, err
	}
	var obj any
	switch head.Kind {
	case "Deployment":
		obj = &appsv1.Deployment{}
	case "Secret":
		obj = &corev1.Secret{}
	case "Kustomization":
		obj = &kustypes.Kustomization{}
	default:
		return nil, errors.New("unexpected kind " + head.Kind)
	}
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	strict, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(strict...); err != nil {
		return nil, err
	}
	return obj, nil
}

// documents splits a YAML stream at its "---" lines.
func documents(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func TestEveryManifestDecodesStrictly(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(b) {
			if _, err := decodeStrict(doc); err != nil {
				t.Errorf("%s, document %d: %v", f, i+1, err)
			}
		}
	}

	b, err := os.ReadFile(filepath.Join(baseDir, "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typo := range []struct{ field, misspelt string }{
		{"readOnlyRootFilesystem", "readOnlyRootFileSystem"}, // wrong case
		{"allowPrivilegeEscalation", "allowPrivilegeEscalaton"},
		{"automountServiceAccountToken", "automountServiceAccountTokens"},
	} {
		t.Run("misspelt "+typo.field+" is an error", func(t *testing.T) {
			doc := bytes.Replace(b, []byte(typo.field), []byte(typo.misspelt), 1)
			if _, err := decodeStrict(doc); err == nil || !strings.Contains(err.Error(), typo.misspelt) {
				t.Fatalf("decoding a Deployment with %s: %v, want an error naming it", typo.misspelt, err)
			}
		})
	}
}

// render runs kustomize in process (no kubectl needed) and decodes its output strictly.
func render(t *testing.T, dir string) (*appsv1.Deployment, []any) {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var deploy *appsv1.Deployment
	var all []any
	for _, r := range m.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeStrict(doc)
		if err != nil {
			t.Fatalf("kustomize build %s: %s: %v", dir, r.CurId(), err)
		}
		all = append(all, obj)
		if d, ok := obj.(*appsv1.Deployment); ok {
			deploy = d
		}
	}
	if deploy == nil {
		t.Fatalf("kustomize build %s has no Deployment", dir)
	}
	return deploy, all
}

// exampleSecrets reads the Secrets a variant's README steps create, by name.
func exampleSecrets(t *testing.T, dir string) map[string]*corev1.Secret {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "secret.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]*corev1.Secret{}
	for _, doc := range documents(b) {
		obj, err := decodeStrict(doc)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := obj.(*corev1.Secret)
		if !ok {
			t.Fatalf("%s/secret.example.yaml holds a %T", dir, obj)
		}
		secrets[s.Name] = s
	}
	return secrets
}

func secretKeys(s *corev1.Secret) []string {
	var keys []string
	for k := range s.StringData {
		keys = append(keys, k)
	}
	for k := range s.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, e.ValueFrom == nil
		}
	}
	return "", false
}

// checkHardened is what every variant promises about the pod and each of its containers.
func checkHardened(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1: two pods would work one task queue", d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy = %q, want Recreate: a rolling update runs two pods at once", d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false: the connector never calls the Kubernetes API")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile is not RuntimeDefault")
	}
	emptyDirs := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.EmptyDir != nil {
			emptyDirs[v.Name] = true
		}
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("container %s has no securityContext", c.Name)
			continue
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("container %s: capabilities %+v, want drop ALL and add none", c.Name, sc.Capabilities)
		}
		req, lim := c.Resources.Requests.Memory(), c.Resources.Limits.Memory()
		if req.IsZero() || lim.IsZero() || lim.Cmp(*req) < 0 || c.Resources.Requests.Cpu().IsZero() {
			t.Errorf("container %s: resources %+v, want cpu and memory requests and a memory limit at least the request", c.Name, c.Resources)
		}
		if c.Image != d.Spec.Template.Spec.Containers[0].Image {
			t.Errorf("container %s runs %s, the host %s: both binaries come from one image", c.Name, c.Image, pod.Containers[0].Image)
		}
	}
	host := container(t, pod, "baton-cursor")
	if len(host.Command) > 0 {
		t.Errorf("the host container overrides the image's entrypoint with %v", host.Command)
	}
	if id, _ := envValue(host, "BATON_HOST_ID"); id == "" {
		t.Error("BATON_HOST_ID is not set: C1 would see a new host at every rollout (the pod name)")
	}
	tmp := false
	for _, m := range host.VolumeMounts {
		tmp = tmp || (m.MountPath == "/tmp" && emptyDirs[m.Name] && !m.ReadOnly)
	}
	if !tmp {
		t.Error("the host container has no writable emptyDir at /tmp (the c1z and go-plugin's socket go there)")
	}
}

// checkProbes: liveness and readiness on baton's health server, which must listen where the
// kubelet probes (the pod IP), on the port the probes name.
func checkProbes(t *testing.T, host corev1.Container) {
	t.Helper()
	if on, _ := envValue(host, "BATON_HEALTH_CHECK"); on != "true" {
		t.Errorf("BATON_HEALTH_CHECK = %q, want true", on)
	}
	if addr, _ := envValue(host, "BATON_HEALTH_CHECK_BIND_ADDRESS"); addr != "0.0.0.0" {
		t.Errorf("BATON_HEALTH_CHECK_BIND_ADDRESS = %q: baton binds 127.0.0.1 by default, which the kubelet cannot reach", addr)
	}
	port, _ := envValue(host, "BATON_HEALTH_CHECK_PORT")
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", host.LivenessProbe, "/live"}, {"readiness", host.ReadinessProbe, "/ready"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no %s httpGet probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe on %s, want %s (/health asks Cursor on every probe)", p.name, p.probe.HTTPGet.Path, p.path)
		}
		var probed int32
		for _, cp := range host.Ports {
			if cp.Name == p.probe.HTTPGet.Port.String() || cp.ContainerPort == p.probe.HTTPGet.Port.IntVal {
				probed = cp.ContainerPort
			}
		}
		if probed == 0 || port != strconv.Itoa(int(probed)) {
			t.Errorf("%s probe port %s is container port %d, health server on BATON_HEALTH_CHECK_PORT=%q", p.name, p.probe.HTTPGet.Port.String(), probed, port)
		}
	}
}

func TestBaseRendersAHardenedServiceModePod(t *testing.T) {
	d, all := render(t, baseDir)
	if len(all) != 1 {
		t.Errorf("kustomize build base has %d resources, want only the Deployment: applying a Secret would overwrite the real one", len(all))
	}
	checkHardened(t, d)
	host := container(t, d.Spec.Template.Spec, "baton-cursor")
	checkProbes(t, host)
	if len(d.Spec.Template.Spec.InitContainers) > 0 || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Errorf("base runs %d init and %d containers, want the host alone (it starts the plugin itself)",
			len(d.Spec.Template.Spec.InitContainers), len(d.Spec.Template.Spec.Containers))
	}
	if len(host.EnvFrom) != 1 || host.EnvFrom[0].SecretRef == nil || host.EnvFrom[0].SecretRef.Name != "baton-cursor" {
		t.Errorf("host envFrom %+v, want the Secret baton-cursor", host.EnvFrom)
	}
	keys := secretKeys(exampleSecrets(t, baseDir)["baton-cursor"])
	for _, k := range []string{"BATON_CLIENT_ID", "BATON_CLIENT_SECRET", "BATON_CURSOR_API_KEY", "BATON_CURSOR_SCIM_URL", "BATON_CURSOR_SCIM_TOKEN", "BATON_PROVISIONING"} {
		if !slices.Contains(keys, k) {
			t.Errorf("the example Secret baton-cursor lacks %s (has %v)", k, keys)
		}
	}
}

// cursorSecrets are the settings that reach Cursor; in the sidecar variant only the plugin
// container may see them.
var cursorSecrets = []string{"BATON_CURSOR_API_KEY", "BATON_CURSOR_SCIM_TOKEN"}

func TestSidecarOverlayKeepsCursorCredentialsInThePluginContainer(t *testing.T) {
	d, all := render(t, sidecarDir)
	if len(all) != 1 {
		t.Errorf("kustomize build %s has %d resources, want only the Deployment", sidecarDir, len(all))
	}
	checkHardened(t, d)
	pod := d.Spec.Template.Spec
	host, plugin := container(t, pod, "baton-cursor"), container(t, pod, "baton-cursor-plugin")
	checkProbes(t, host)
	// A native sidecar: started before the host, stopped after it.
	if !slices.ContainsFunc(pod.InitContainers, func(c corev1.Container) bool {
		return c.Name == plugin.Name && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	}) {
		t.Error("baton-cursor-plugin is not an init container with restartPolicy Always (a native sidecar)")
	}
	if len(plugin.Command) != 1 || filepath.Base(plugin.Command[0]) != "baton-cursor-plugin" || len(plugin.Args) == 0 || plugin.Args[0] != "serve" {
		t.Fatalf("plugin container runs %v %v, want baton-cursor-plugin serve", plugin.Command, plugin.Args)
	}
	listen := flagValue(plugin.Args, "--listen")
	if !strings.HasPrefix(listen, "127.0.0.1:") {
		t.Errorf("the sidecar listens on %q, want loopback: nothing outside the pod needs it", listen)
	}
	if addr, _ := envValue(host, "BATON_PLUGIN_ADDRESS"); addr != "http://"+listen {
		t.Errorf("BATON_PLUGIN_ADDRESS = %q, the sidecar listens on %s", addr, listen)
	}
	secrets := exampleSecrets(t, sidecarDir)
	for _, c := range []corev1.Container{host, plugin} {
		seen := envNamesSeen(t, c, secrets)
		for _, s := range cursorSecrets {
			if c.Name == host.Name && slices.Contains(seen, s) {
				t.Errorf("the host container sees %s; it must live only in the plugin container", s)
			}
		}
		if c.Name == plugin.Name && !slices.Contains(seen, "BATON_CURSOR_API_KEY") {
			t.Errorf("the plugin container does not see BATON_CURSOR_API_KEY (sees %v)", seen)
		}
		if c.Name == plugin.Name && slices.ContainsFunc(seen, func(s string) bool { return strings.HasPrefix(s, "BATON_CLIENT_") }) {
			t.Errorf("the plugin container sees the C1 credentials (%v)", seen)
		}
	}
	// The sidecar token: the file the plugin requires is the file the host sends.
	tokenPath := flagValue(plugin.Args, "--auth-token-file")
	hostToken, _ := envValue(host, "BATON_PLUGIN_TOKEN_FILE")
	if tokenPath == "" || hostToken != tokenPath {
		t.Errorf("plugin --auth-token-file %q, host BATON_PLUGIN_TOKEN_FILE %q: want one token file for both", tokenPath, hostToken)
	}
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// envNamesSeen lists the variables a container gets: its env and the keys of the Secrets it
// takes whole. Every Secret and key it names must exist in the variant's example Secrets.
func envNamesSeen(t *testing.T, c corev1.Container, secrets map[string]*corev1.Secret) []string {
	t.Helper()
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			s := secrets[ref.SecretKeyRef.Name]
			if s == nil || !slices.Contains(secretKeys(s), ref.SecretKeyRef.Key) {
				t.Errorf("container %s: %s comes from Secret %s key %s, which the example Secrets lack", c.Name, e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
			}
		}
	}
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			t.Errorf("container %s: envFrom %+v is not a Secret", c.Name, from)
			continue
		}
		s := secrets[from.SecretRef.Name]
		if s == nil {
			t.Errorf("container %s takes Secret %s, which the example Secrets lack", c.Name, from.SecretRef.Name)
			continue
		}
		names = append(names, secretKeys(s)...)
	}
	return names
}

func TestSecretVolumesNameExistingKeys(t *testing.T) {
	for _, dir := range []string{baseDir, sidecarDir} {
		d, _ := render(t, dir)
		secrets := exampleSecrets(t, dir)
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Secret == nil {
				continue
			}
			s := secrets[v.Secret.SecretName]
			if s == nil {
				t.Errorf("%s: volume %s mounts Secret %s, which the example Secrets lack", dir, v.Name, v.Secret.SecretName)
				continue
			}
			for _, item := range v.Secret.Items {
				if !slices.Contains(secretKeys(s), item.Key) {
					t.Errorf("%s: volume %s mounts key %s of Secret %s, which it lacks", dir, v.Name, item.Key, s.Name)
				}
			}
		}
	}
}

// TestEveryVariableIsOneTheBinaryReads: a misspelt variable is silently ignored by the
// binary, so each one the manifests set (env or Secret key) is checked against what the
// binary says it reads: baton-cursor's `config` schema and flags (baton reads every flag
// from BATON_<FLAG>), and the environment `baton-cursor-plugin serve -h` lists.
func TestEveryVariableIsOneTheBinaryReads(t *testing.T) {
	host, plugin := hostVariables(t), pluginVariables(t)
	for _, v := range []string{"BATON_CLIENT_ID", "BATON_CURSOR_API_KEY", "BATON_PROVISIONING", "BATON_HEALTH_CHECK_BIND_ADDRESS", "BATON_PLUGIN_ADDRESS"} {
		if !host[v] {
			t.Fatalf("baton-cursor's config and flags do not yield %s: the check itself is broken (found %d names)", v, len(host))
		}
	}
	for _, dir := range []string{baseDir, sidecarDir} {
		d, _ := render(t, dir)
		secrets := exampleSecrets(t, dir)
		for _, c := range append(slices.Clone(d.Spec.Template.Spec.InitContainers), d.Spec.Template.Spec.Containers...) {
			reads := host
			if len(c.Command) > 0 && filepath.Base(c.Command[0]) == "baton-cursor-plugin" {
				reads = plugin
			}
			for _, name := range envNamesSeen(t, c, secrets) {
				if !reads[name] {
					t.Errorf("%s: container %s sets %s, which its binary does not read", dir, c.Name, name)
				}
			}
		}
	}
}

// envOnly are the variables baton-sdk reads with os.Getenv rather than as a flag:
// BATON_HOST_ID (pkg/tasks/c1api; pod_test.go sees it reach C1).
var envOnly = []string{"BATON_HOST_ID"}

func hostVariables(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, n := range envOnly {
		names[n] = true
	}
	var schema struct {
		Fields []struct {
			Name string `json:"name"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(runBinary(t, "baton-cursor", "config"), &schema); err != nil {
		t.Fatalf("baton-cursor config: %v", err)
	}
	for _, f := range schema.Fields {
		names[envName(f.Name)] = true
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllStringSubmatch(string(runBinary(t, "baton-cursor", "--help")), -1) {
		names[envName(m[1])] = true
	}
	return names
}

func pluginVariables(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, n := range regexp.MustCompile(`BATON_[A-Z0-9_]+`).FindAllString(string(runBinary(t, "baton-cursor-plugin", "serve", "-h")), -1) {
		names[n] = true
	}
	if !names["BATON_CURSOR_API_KEY"] {
		t.Fatalf("baton-cursor-plugin serve -h names no BATON_CURSOR_API_KEY: %v", names)
	}
	return names
}

// envName is baton-sdk's mapping of a setting to its variable (viper: prefix BATON, - → _).
func envName(setting string) string {
	return "BATON_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

func runBinary(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
