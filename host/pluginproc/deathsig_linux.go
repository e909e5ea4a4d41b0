package pluginproc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has Linux kill the plugin the moment the host dies, even by
// SIGKILL. The plugin's own parent watchdog covers other systems.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
