//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// proc is one process of a run's tree and the largest VmHWM seen for it.
type proc struct {
	pid      int
	role     string
	hwmKB    int64
	cpuTicks int64 // utime+stime, last seen (USER_HZ ticks)
}

// treeWatch polls /proc for every process descending from root and keeps
// each one's peak resident set (VmHWM, which the kernel only ever raises),
// and the largest sum of the tree's resident sets (VmRSS) seen in one poll:
// the tree's peak, as a Kubernetes memory limit counts it.
// A process's growth in its last poll interval before exit is not seen;
// wait4's rusage of the root (the tree's maximum) cross-checks that.
type treeWatch struct {
	root     int
	rootRole string
	every    time.Duration

	mu      sync.Mutex
	tree    map[int]*proc
	outside map[int]bool // pids known not to descend from root
	treeKB  int64        // largest sum of VmRSS over the tree in one poll
	stop    chan struct{}
	done    chan struct{}
}

func watchTree(root int, rootRole string, every time.Duration) *treeWatch {
	w := &treeWatch{
		root: root, rootRole: rootRole, every: every,
		tree:    map[int]*proc{root: {pid: root, role: rootRole}},
		outside: map[int]bool{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			w.poll()
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Stop ends polling and returns the processes seen and the tree's peak.
func (w *treeWatch) Stop() ([]proc, int64) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []proc
	parentBelow := false
	for pid, p := range w.tree {
		parentBelow = parentBelow || (pid != w.root && p.role == roleParent)
		out = append(out, *p)
	}
	for i := range out {
		// A baton-cursor below the root means the root is the old exit-code supervisor.
		if out[i].pid == w.root && parentBelow {
			out[i].role = roleSupervisor
		}
	}
	return out, w.treeKB
}

func (w *treeWatch) poll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	fresh := map[int]int{} // pid -> ppid of processes not classified yet
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || w.tree[pid] != nil || w.outside[pid] {
			continue
		}
		if st, ok := readStat(pid); ok {
			fresh[pid] = st.ppid
		}
	}
	for grew := true; grew; { // a child may be listed before its parent
		grew = false
		for pid, ppid := range fresh {
			if w.tree[ppid] != nil {
				w.tree[pid] = &proc{pid: pid}
				delete(fresh, pid)
				grew = true
			}
		}
	}
	for pid := range fresh {
		w.outside[pid] = true
	}
	var sumKB int64
	for pid, p := range w.tree {
		// Between fork and exec a child still shares its parent's memory
		// (Go forks with CLONE_VM|CLONE_VFORK) and would report the parent's VmHWM.
		st, ok := readStat(pid)
		if !ok || st.flags&pfForkNoExec != 0 {
			continue
		}
		p.cpuTicks = max(p.cpuTicks, st.cpuTicks)
		hwm, ok := peakKB(pid)
		if !ok {
			continue // gone, or a zombie
		}
		p.hwmKB = max(p.hwmKB, hwm)
		if rss, ok := memKB(pid, "VmRSS"); ok {
			sumKB += rss
		}
		if pid != w.root {
			// Read every time: between fork and exec a child still shows its parent's argv.
			p.role = roleOf(pid, p.role)
		}
	}
	w.treeKB = max(w.treeKB, sumKB)
}

// pfForkNoExec is the kernel's PF_FORKNOEXEC: forked but not yet exec'd.
const pfForkNoExec = 0x40

type stat struct {
	ppid     int
	flags    uint64
	cpuTicks int64
}

// readStat reads /proc/PID/stat.
func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, false
	}
	// state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime ...
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return stat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	flags, err2 := strconv.ParseUint(f[6], 10, 64)
	utime, err3 := strconv.ParseInt(f[11], 10, 64)
	stime, err4 := strconv.ParseInt(f[12], 10, 64)
	return stat{ppid, flags, utime + stime}, errors.Join(err1, err2, err3, err4) == nil
}

// peakKB reads VmHWM from /proc/PID/status.
func peakKB(pid int) (int64, bool) { return memKB(pid, "VmHWM") }

// memKB reads one kB field (VmHWM, VmRSS) from /proc/PID/status.
func memKB(pid int, name string) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	_, rest, ok := bytes.Cut(b, []byte("\n"+name+":"))
	if !ok {
		return 0, false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(line)), " kB"), 10, 64)
	return kb, err == nil
}

// roleOf names a descendant by its argv: baton-sdk's gRPC child, the
// plugin, or the baton-sdk parent that the host's supervisor runs.
func roleOf(pid int, old string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return old
	}
	argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	switch {
	case filepath.Base(argv[0]) == "baton-cursor-plugin":
		return rolePlugin
	case len(argv) > 1 && argv[len(argv)-1] == "_connector-service":
		return roleService
	case filepath.Base(argv[0]) == "baton-cursor":
		return roleParent
	}
	return "other: " + filepath.Base(argv[0])
}

const (
	roleSupervisor = "supervisor"        // baton-cursor's exit-code supervisor
	roleParent     = "parent"            // baton-sdk's one-shot process: runs the syncer, writes the c1z
	roleService    = "connector-service" // baton-sdk's _connector-service child: runs the connector
	rolePlugin     = "plugin"            // baton-cursor-plugin
)
