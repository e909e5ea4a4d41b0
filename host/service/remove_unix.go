//go:build unix

package service

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// removeWhileStopped removes the service's temp dir on a signal's way
// out. Its writers must not run meanwhile, or RemoveAll races them and
// leaves the dir; and killing baton-sdk's _connector-service child first
// would make baton-sdk exit 1 at once (its watcher of the child), racing the
// removal. So the children are stopped (SIGSTOP), the dir removed, then the
// children killed (the plugin dies with its parent).
func removeWhileStopped(dir string) {
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
