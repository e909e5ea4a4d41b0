// Package mdsection rewrites one "## " section of a markdown file, so each
// benchmark command of `make bench` owns its section of BENCHMARKS.md.
package mdsection

import (
	"os"
	"strings"
)

// Write puts section, which starts with title, into the markdown file at
// path, replacing an earlier section with that title (up to the next "## "),
// else appending it.
func Write(path, title, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
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
