// Package service is baton-cursor's service mode (--client-id): baton-sdk's
// own task loop (Hello, polling, heartbeats, uploads) and its
// _connector-service child, with what a long-running pod needs around it: a
// private temp dir removed on every way out but SIGKILL, errors that name
// the setting to fix, and a provisioning refusal that says what to set.
package service

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/conductorone/baton-sdk/pkg/crypto"
	"github.com/conductorone/baton-sdk/pkg/ugrpc"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/ownedtemp"
)

// Mode is service mode in this process: whether it runs, the signal that
// ended it, and its temp dir. Its methods are safe to call from a signal
// handler while Run runs.
type Mode struct {
	name       string
	active     atomic.Bool
	sig        atomic.Pointer[os.Signal]
	dir        atomic.Pointer[string]
	removeOnce sync.Once // the signal handler and Run's return both remove; the second waits
}

// New is service mode for the connector called name.
func New(name string) *Mode { return &Mode{name: name} }

// Run runs baton's service loop in a private temp dir and explains its
// credential errors.
func (m *Mode) Run(baton func() error) error {
	m.active.Store(true)
	dir, err := tempDir(m.name)
	if err != nil {
		return err
	}
	m.dir.Store(&dir.Path)
	defer m.removeDir(false)
	defer runtime.KeepAlive(dir) // its lock lives as long as the service
	return explainError(m.name, baton())
}

// Active is true once Run has started.
func (m *Mode) Active() bool { return m.active.Load() }

// Signalled records s as the signal that ended service mode (the first one
// wins): baton-sdk handles it too and may return first, and the exit status
// must still be the signal's.
func (m *Mode) Signalled(s os.Signal) {
	m.sig.CompareAndSwap(nil, &s)
}

// Signal is the signal that ended service mode, nil if none did.
func (m *Mode) Signal() os.Signal {
	if s := m.sig.Load(); s != nil {
		return *s
	}
	return nil
}

// RemoveOnSignal removes the temp dir on a signal's way out, while the
// children may be mid-write.
func (m *Mode) RemoveOnSignal() { m.removeDir(true) }

func (m *Mode) removeDir(signalled bool) {
	m.removeOnce.Do(func() {
		dir := m.dir.Load()
		switch {
		case dir == nil:
		case signalled:
			removeWhileStopped(*dir)
		default: // baton-sdk's run has returned
			_ = os.RemoveAll(*dir)
		}
	})
}

// tempDir makes the service's private temp dir and points TMPDIR at
// it, so the child, its sync uploads and c1z-pebble dirs and the plugin's
// socket dir all live there (a pod's /tmp then never fills up across
// SIGTERMs). What a killed process of ours left in TMPDIR is removed first.
// The caller removes the dir.
func tempDir(name string) (*ownedtemp.Folder, error) {
	ownedtemp.Sweep(os.TempDir(), name+"-")
	dir, err := ownedtemp.Make("", name+"-service-")
	if err != nil {
		return nil, fmt.Errorf("%s: make a temp directory (set TMPDIR to a writable folder, e.g. an emptyDir at /tmp): %w", name, err)
	}
	return dir, os.Setenv("TMPDIR", dir.Path)
}

// explainError turns baton-sdk's service-mode credential failures
// into one line naming the setting to fix. baton-sdk gives up on them at
// once (its startup Hello does not retry Unauthenticated) but says only
// "invalid client secret" or "failed to get token: 401 Unauthorized". Other
// errors pass unchanged.
func explainError(name string, err error) error {
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

// RefuseProvisioningWithoutFlag: in service mode without BATON_PROVISIONING
// (--provisioning), baton-sdk's _connector-service child answers every
// provisioning task "provisioning is not enabled", which does not say what
// to set. So in that child, and only when the flag is off, provisioning is
// registered after all and *off tells the connector's constructor to have the connector
// refuse it (a connector that cannot is an error, never provisioning turned
// on). One-shot runs are untouched: they never reach this child.
func RefuseProvisioningWithoutFlag(root *cobra.Command, v *viper.Viper, off *bool) {
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
