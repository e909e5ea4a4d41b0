// Package ownedtemp makes temp folders that a later run can tell are
// abandoned. A SIGKILL (an OOM kill, a pod's hard stop) gives a process no
// chance to remove its temp folders; the next run of ours removes them
// instead, and touches nothing else.
//
// Each folder holds a lock file that its maker holds locked (flock) for the
// folder's life. The kernel releases the lock when the maker dies however it
// dies, so a folder whose lock can be taken is abandoned. The lock, not a
// process id, decides: it holds across PID namespaces (two containers sharing
// a volume) and is not fooled by a reused id. Folders without the lock file
// (made by someone else, or by an older release) are never touched.
package ownedtemp

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// lockName is the lock file inside every folder this package makes.
const lockName = ".baton-cursor-owner"

// Folder is a temp folder of this process's, locked while it lives.
type Folder struct {
	Path string
	lock io.Closer // nil where locks are not supported (lock_other.go)
}

// Make makes a folder in parent (os.MkdirTemp's pattern) and locks it. The
// lock file is locked before it takes its final name, so a sweep never sees
// a fresh folder's lock file unlocked.
func Make(parent, pattern string) (*Folder, error) {
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return nil, err
	}
	f, err := lockNew(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &Folder{Path: dir, lock: f}, nil
}

// Remove removes the folder and what is in it, then drops the lock.
func (f *Folder) Remove() error {
	if f == nil {
		return nil
	}
	err := os.RemoveAll(f.Path)
	if f.lock != nil {
		_ = f.lock.Close()
	}
	return err
}

// Sweep removes the abandoned folders in parent whose names start with
// prefix and answers which it removed. Errors are not returned: a folder it
// cannot read or remove is left as it is, and the run goes on.
func Sweep(parent, prefix string) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if f, ok := lockAbandoned(filepath.Join(dir, lockName)); ok {
			if os.RemoveAll(dir) == nil {
				removed = append(removed, dir)
			}
			_ = f.Close()
		}
	}
	return removed
}
