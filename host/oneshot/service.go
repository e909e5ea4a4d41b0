package oneshot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conductorone/baton-sdk/pkg/crypto"
	"github.com/conductorone/baton-sdk/pkg/ugrpc"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/ownedtemp"
)

// Service mode (--client-id) is baton-sdk's task loop with its
// _connector-service child. This file adds what a long-running pod needs
// around it: a private temp dir removed on every way out but SIGKILL, errors
// that name the setting to fix, and a provisioning refusal that says what
// to set.

// serviceTempDir makes the service's private temp dir and points TMPDIR at
// it, so the child, its sync uploads and c1z-pebble dirs and the plugin's
// socket dir all live there (a pod's /tmp then never fills up across
// SIGTERMs). What a killed process of ours left in TMPDIR is removed first.
// The caller removes the dir.
func serviceTempDir(name string) (*ownedtemp.Folder, error) {
	ownedtemp.Sweep(os.TempDir(), name+"-")
	dir, err := ownedtemp.Make("", name+"-service-")
	if err != nil {
		return nil, fmt.Errorf("%s: make a temp directory (set TMPDIR to a writable folder, e.g. an emptyDir at /tmp): %w", name, err)
	}
	return dir, os.Setenv("TMPDIR", dir.Path)
}

// removeServiceTempDir removes the service's temp dir on a signal's way
// out. Its writers must not run meanwhile, or RemoveAll races them and
// leaves the dir; and killing baton-sdk's _connector-service child first
// would make baton-sdk exit 1 at once (its watcher of the child), racing the
// removal. So the children are stopped (SIGSTOP), the dir removed, then the
// children killed (the plugin dies with its parent).
func removeServiceTempDir(dir string) {
	kids := stopChildren(time.Second)
	for range 3 {
		if os.RemoveAll(dir) == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range kids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// stopChildren sends SIGSTOP to this process's children and waits until each
// has stopped or exited, or the limit passes. Without /proc it finds none.
func stopChildren(limit time.Duration) []int {
	self := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, f := range stats {
		if state, ppid := procState(f); ppid == self && state != 'Z' {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			_ = syscall.Kill(pid, syscall.SIGSTOP)
			kids = append(kids, pid)
		}
	}
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		running := 0
		for _, pid := range kids {
			switch state, _ := procState("/proc/" + strconv.Itoa(pid) + "/stat"); state {
			case 0, 'Z', 'X', 'T', 't':
			default:
				running++
			}
		}
		if running == 0 {
			break
		}
	}
	return kids
}

// procState reads a /proc/PID/stat file's state letter and parent pid (0
// and "" when it is gone).
func procState(statFile string) (byte, string) {
	b, err := os.ReadFile(statFile)
	i := bytes.LastIndexByte(b, ')')
	if err != nil || i < 0 {
		return 0, ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, ""
	}
	return f[0][0], f[1]
}

// explainServiceError turns baton-sdk's service-mode credential failures
// into one line naming the setting to fix. baton-sdk gives up on them at
// once (its startup Hello does not retry Unauthenticated) but says only
// "invalid client secret" or "failed to get token: 401 Unauthorized". Other
// errors pass unchanged.
func explainServiceError(name string, err error) error {
	switch {
	case errors.Is(err, crypto.ErrInvalidClientSecret):
		return status.Error(codes.InvalidArgument, name+": BATON_CLIENT_SECRET (--client-secret) is not a ConductorOne client secret "+
			"(secret-token:…:v1:…): copy it again from the connector's credentials in ConductorOne")
	case errors.Is(err, ugrpc.ErrInvalidClientID):
		return status.Error(codes.InvalidArgument, name+": BATON_CLIENT_ID (--client-id) is not a ConductorOne client id "+
			"(name@tenant.conductor.one/…): copy it again from the connector's credentials in ConductorOne")
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unauthenticated && strings.Contains(err.Error(), "failed to get token") {
		return status.Errorf(codes.Unauthenticated, "%s: ConductorOne refused the client credentials (%s): "+
			"check BATON_CLIENT_ID and BATON_CLIENT_SECRET, or rotate the credentials in ConductorOne and update both", name, st.Message())
	}
	return err
}

// ProvisioningRefuser is a connector that can refuse every provisioning
// call itself, with a message naming BATON_PROVISIONING.
type ProvisioningRefuser interface{ RefuseProvisioning() }

// refuseProvisioningWithoutFlag: in service mode without BATON_PROVISIONING
// (--provisioning), baton-sdk's _connector-service child answers every
// provisioning task "provisioning is not enabled", which does not say what
// to set. So in that child, and only when the flag is off, provisioning is
// registered after all and *off tells newServer to have the connector
// refuse it (a connector that cannot is an error, never provisioning turned
// on). One-shot runs are untouched: they never reach this child.
func refuseProvisioningWithoutFlag(root *cobra.Command, v *viper.Viper, off *bool) {
	child, _, err := root.Find([]string{"_connector-service"})
	if err != nil || child == root || child.RunE == nil {
		return
	}
	runE := child.RunE
	child.RunE = func(cmd *cobra.Command, args []string) error {
		if err := v.BindPFlags(cmd.Flags()); err != nil {
			return err
		}
		if v.GetString("client-id") != "" && !v.GetBool("provisioning") {
			v.Set("provisioning", true)
			*off = true
		}
		return runE(cmd, args)
	}
}
