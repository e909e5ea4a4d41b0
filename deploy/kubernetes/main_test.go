// Package kubernetes_test checks the manifests in this folder: that they decode strictly into
// the Kubernetes API types, that kustomize renders the base and the overlay into what the
// README promises, that every setting they name is one the binaries read, and that a pod built
// from them runs a sync task (pod_test.go).
package kubernetes_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binDir holds baton-cursor and baton-cursor-plugin, built once for every test here.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "baton-cursor-deploy-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The pod test runs the binaries as the image's non-root user, who must reach them.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Built from the connector's own module, with its own go.mod, as make image builds them
	// (without cgo, baton-sdk's pebble allocates in Go, so the pod's memory is the image's).
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", dir+"/",
		"./host/cmd/baton-cursor", "./plugin/cmd/baton-cursor-plugin")
	build.Dir = moduleRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the binaries: %v\n%s", err, out)
		return 1
	}
	binDir = dir
	defer removeTestImage()
	return m.Run()
}

// moduleRoot is the connector's module, two folders up from deploy/kubernetes.
var moduleRoot = func() string {
	abs, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return abs
}()
