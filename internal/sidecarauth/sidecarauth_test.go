package sidecarauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatches(t *testing.T) {
	const tok = "s3cret-token"
	for header, want := range map[string]bool{
		"Bearer " + tok:                  true,
		"bearer " + tok:                  true, // RFC 6750: the scheme is case-insensitive
		"BEARER " + tok:                  true,
		"Bearer  " + tok:                 true,
		"Bearer " + tok + "x":            false,
		"Bearer " + strings.ToUpper(tok): false, // the token is not
		"Basic " + tok:                   false,
		tok:                              false,
		"":                               false,
		"Bearer ":                        false,
	} {
		if got := Matches(header, tok); got != want {
			t.Errorf("Matches(%q) = %v, want %v", header, got, want)
		}
	}
	if Matches("Bearer ", "") {
		t.Error("an empty token matched")
	}
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
			t.Fatal(err)
		}
		return p
	}
	tok, open, err := ReadTokenFile(write("private", "tok123\n", 0o600))
	if err != nil || tok != "tok123" || open {
		t.Errorf("a 0600 file: %q, %v, %v; want tok123, not open to others", tok, open, err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if _, open, err := ReadTokenFile(write("shared", "tok123", mode)); err != nil || !open {
			t.Errorf("a %o file: open to others = %v, %v; want true", mode, open, err)
		}
	}
	for name, content := range map[string]string{"empty": "\n", "two words": "a b\n", "two lines": "a\nb\n"} {
		p := write("bad", content, 0o600)
		_, _, err := ReadTokenFile(p)
		if err == nil || !strings.Contains(err.Error(), "one token on one line") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line saying one token on one line", name, err)
		}
	}
	if _, _, err := ReadTokenFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file: no error")
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "127.3.2.1": true, "::1": true,
		"0.0.0.0": false, "": false, "10.0.0.1": false, "example.com": false} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
