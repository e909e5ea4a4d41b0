package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent ends the supervised run when the supervisor is killed.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
