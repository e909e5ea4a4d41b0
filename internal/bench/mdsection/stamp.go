package mdsection

import (
	"os"
	"os/exec"
	"strings"
	"time"
)

// LoadAvg is /proc/loadavg's three load averages, "?" when unreadable.
func LoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Commit is the checkout's short commit, with -dirty when tracked files
// differ from it: the build a section measured. BENCHMARKS.md itself is
// not counted: make bench rewrites it while it measures.
func Commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md").Output(); err == nil && len(st) > 0 {
		c += "-dirty"
	}
	return c
}

// Stamp is the line every section opens with: when it was measured, on
// which commit, and the machine's load before and after (it is shared, so
// wall times vary with it).
func Stamp(began time.Time, loadBefore string) string {
	return "- measured " + began.UTC().Format("2006-01-02 15:04 UTC") + " at commit " + Commit() +
		"; load average (/proc/loadavg) before: " + loadBefore + ", after: " + LoadAvg() + "\n"
}
