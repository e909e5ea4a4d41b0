//go:build unix

package ownedtemp

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// A child of the test binary makes a folder, prints its path and waits to be
// killed, as a SIGKILLed run would.
func TestMain(m *testing.M) {
	if parent := os.Getenv("OWNEDTEMP_CHILD_PARENT"); parent != "" {
		f, err := Make(parent, "baton-cursor-")
		if err != nil {
			os.Exit(2)
		}
		os.Stdout.WriteString(f.Path + "\n")
		select {}
	}
	os.Exit(m.Run())
}

func killedChildFolder(t *testing.T, parent string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "OWNEDTEMP_CHILD_PARENT="+parent)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return line[:len(line)-1]
}

func TestSweepRemovesOnlyAbandonedFoldersOfOurs(t *testing.T) {
	parent := t.TempDir()
	dead := killedChildFolder(t, parent)
	live, err := Make(parent, "baton-cursor-")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	// Not ours: no lock file, or another prefix, or a plain file.
	stranger := filepath.Join(parent, "baton-cursor-stranger")
	other := filepath.Join(parent, "plugin-123")
	for _, d := range []string{stranger, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	otherOwned, err := Make(parent, "someone-else-")
	if err != nil {
		t.Fatal(err)
	}
	otherOwned.lock.Close() // abandoned, but not under the prefix swept

	removed := Sweep(parent, "baton-cursor-")
	if !slices.Equal(removed, []string{dead}) {
		t.Fatalf("swept %q, want only the killed process's %q", removed, dead)
	}
	for _, d := range []string{live.Path, stranger, other, otherOwned.Path} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was touched: %v", d, err)
		}
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the killed process's folder is still there: %v", err)
	}
}

func TestRemoveDropsFolderAndLock(t *testing.T) {
	parent := t.TempDir()
	f, err := Make(parent, "baton-cursor-")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Fatalf("folder left after Remove: %v", err)
	}
}
