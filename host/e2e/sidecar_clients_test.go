//go:build linux

// Other clients of the sidecar: the gateway example and describe.

package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

func TestGatewayExample(t *testing.T) {
	gw := filepath.Join(t.TempDir(), "gateway")
	build := exec.Command("go", "build", "-o", gw, "./examples/gateway")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/gateway: %v\n%s", err, out)
	}

	tenant, srv := newTenant(t, simulator.Config{Members: 2500, Seed: 13})
	cmd := exec.Command(gw, "-plugin", pluginBin)
	cmd.Dir = t.TempDir()
	cmd.Env = scSettings(testKey(), srv.URL)
	var stdout, stderr syncBuf
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("gateway: %v; stderr:\n%s", err, tail(stderr.String(), 20))
		}
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("gateway did not finish in 60 s; stderr:\n%s", tail(stderr.String(), 20))
	}

	want := map[string]bool{}
	for _, m := range tenant.Members() {
		want[strings.ToLower(m.Email)] = true
	}
	if len(want) <= 1000 {
		t.Fatalf("tenant has %d distinct emails; the test needs several pages of 1000", len(want))
	}
	lines := scLines(stdout.String())
	got := map[string]int{}
	for _, l := range lines {
		key, _, _ := strings.Cut(l, "\t")
		got[key]++
	}
	for k, n := range got {
		if !want[k] {
			t.Errorf("gateway printed %q, not a member's lower-cased email", k)
		}
		if n != 1 {
			t.Errorf("gateway printed %q %d times", k, n)
		}
	}
	missing := 0
	for k := range want {
		if got[k] == 0 {
			if missing < 5 {
				t.Errorf("gateway did not print member %q", k)
			}
			missing++
		}
	}
	if len(lines) != len(want) || missing > 0 {
		t.Errorf("gateway printed %d lines (%d missing), want %d: one per distinct member email", len(lines), missing, len(want))
	}
}

// --- 7. describe ---

func TestDescribe(t *testing.T) {
	p := scLaunch(t, nil, "describe") // empty environment, no tenant anywhere
	code, took := p.waitExit(t, 2*time.Second)
	if code != 0 {
		t.Fatalf("describe exited %d;\n%s", code, p.output())
	}
	t.Logf("describe took %v", took)
	var d struct {
		Name             string   `json:"name"`
		ProtocolVersions []int    `json:"protocol_versions"`
		Services         []string `json:"services"`
		RPCs             []string `json:"rpcs"`
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &d); err != nil {
		t.Fatalf("describe printed no valid JSON: %v\n%s", err, p.stdout.String())
	}
	if d.Name != "baton-cursor-plugin" {
		t.Errorf("name %q, want baton-cursor-plugin", d.Name)
	}
	if !slices.Equal(d.ProtocolVersions, []int{1}) {
		t.Errorf("protocol_versions %v, want [1]", d.ProtocolVersions)
	}
	if !slices.Equal(d.Services, []string{scService}) {
		t.Errorf("services %v, want [%s]", d.Services, scService)
	}
	var want []string
	for _, m := range []string{"Configure", "GetInfo", "ListMembers", "ListRoles", "Provision", "Deprovision", "ListAuditEvents",
		"ListOrgMembers", "ListOrgTeams", "ListOrgGroups", "ListOrgGroupMembers", "AddOrgGroupMember", "RemoveOrgGroupMember", "AddOrgTeamMember", "RemoveOrgTeamMember"} {
		want = append(want, "/"+scService+"/"+m)
	}
	got := slices.Clone(d.RPCs)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rpcs %v, want %v", d.RPCs, want)
	}
	if s := p.stderr.String(); s != "" {
		t.Errorf("describe wrote to stderr: %q", s)
	}
}

// --- 8. the secret stays in the sidecar ---
