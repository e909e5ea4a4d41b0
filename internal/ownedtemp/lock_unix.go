//go:build unix

package ownedtemp

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// lockNew creates dir's lock file under a temporary name, locks it and only
// then renames it into place (the lock follows the file).
func lockNew(dir string) (io.Closer, error) {
	tmp := filepath.Join(dir, lockName+".new")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, lockName)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lockAbandoned takes the lock of a folder's lock file if nobody holds it.
// The caller removes the folder, then closes the file.
func lockAbandoned(path string) (io.Closer, bool) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return f, true
}
