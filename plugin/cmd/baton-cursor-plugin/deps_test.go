package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The shipped plugin must not carry the simulated tenant: its SCIM server
// (elimity-com/scim and its filter parser) and its published demo key.
// cursor-simulator is the simulator's own binary.
func TestPluginDoesNotLinkTheSimulator(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/conductorone/baton-cursor/internal/simulator", "github.com/elimity-com/scim", "github.com/scim2/filter-parser"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("baton-cursor-plugin links %s; the simulator belongs in cursor-simulator only", pkg)
			}
		}
	}
}
