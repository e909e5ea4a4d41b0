// Package mdsection rewrites one "## " section of a markdown file, so each
// benchmark command of `make bench` owns its section of BENCHMARKS.md.
package mdsection

import (
	"os"
	"strings"
)

// Header opens a BENCHMARKS.md that Write creates; every other line is a
// harness's section.
const Header = "# Benchmarks\n\nWritten by `make bench`, which removes this file first: each section below is written by the harness it names (internal/bench/mdsection) and nothing by hand. Budgets: docs/design.md; each harness holds their numbers and checks them. Earlier figures and before/after comparisons: docs/benchmark-history.md.\n"

// Write puts section, which starts with title, into the markdown file at
// path, replacing an earlier section with that title (up to the next "## "),
// else appending it; a new file starts with Header.
func Write(path, title, section string) error {
	old, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		old, err = []byte(Header), nil
	}
	if err != nil {
		return err
	}
	text := string(old)
	if i := strings.Index(text, title); i >= 0 {
		rest := text[i+len(title):]
		end := len(text)
		if j := strings.Index(rest, "\n## "); j >= 0 {
			end = i + len(title) + j + 1
		}
		text = text[:i] + section + text[end:]
	} else {
		if text != "" && !strings.HasSuffix(text, "\n\n") {
			text = strings.TrimRight(text, "\n") + "\n\n"
		}
		text += section
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
