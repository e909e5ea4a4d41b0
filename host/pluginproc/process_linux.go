package pluginproc

import (
	"os/exec"
	"syscall"
)

// isolate has Linux kill the plugin the moment the host dies, even by
// SIGKILL (the plugin's parent watchdog covers other systems), and puts it in
// a process group of its own so that killGroup reaches anything it started.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// killGroup kills the plugin's whole process group. A program that is not a
// plugin may leave children holding its output pipes, and go-plugin's Kill
// waits for those pipes to close.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
