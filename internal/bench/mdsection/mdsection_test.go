package mdsection

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two harnesses writing into a new file, then the first again: the header
// once, both sections, the first replaced in place (its ### lines included).
func TestWriteStartsTheFileAndReplacesOnlyItsSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(Write(path, "## A", "## A\n\nstale a\n\n### A detail\n\nstale detail\n"))
	must(Write(path, "## B", "## B\n\nb\n"))
	must(Write(path, "## A", "## A\n\nnew a\n"))
	got, err := os.ReadFile(path)
	must(err)
	want := Header + "\n## A\n\nnew a\n## B\n\nb\n"
	if string(got) != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(string(got), "stale") {
		t.Error("the replaced section's text is still there")
	}
}
