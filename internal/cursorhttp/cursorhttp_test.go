package cursorhttp

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBaseURL(t *testing.T) {
	cases := map[string]string{ // raw → base, or "!" + a word of the reason
		"https://api.cursor.com":      "https://api.cursor.com",
		"https://api.cursor.com/":     "https://api.cursor.com",
		"http://127.0.0.1:8080/scim/": "http://127.0.0.1:8080/scim",
		"":                            "!empty",
		" https://x.test":             "!whitespace",
		"api.cursor.com":              "!https://",
		"ftp://x.test":                "!https://",
		"https://":                    "!host",
		"https://u:secret@x.test":     "!password",
		"https://x.test/?q=1":         "!query",
		"https://x.test/#f":           "!fragment",
	}
	for raw, want := range cases {
		base, why := BaseURL(raw)
		switch {
		case strings.HasPrefix(want, "!") && !strings.Contains(why, want[1:]):
			t.Errorf("BaseURL(%q) = %q, %q; want a reason mentioning %q", raw, base, why, want[1:])
		case !strings.HasPrefix(want, "!") && (base != want || why != ""):
			t.Errorf("BaseURL(%q) = %q, %q; want %q", raw, base, why, want)
		case strings.Contains(why, "secret"):
			t.Errorf("BaseURL(%q) echoed the password: %q", raw, why)
		}
	}
}

func TestServerText(t *testing.T) {
	raw := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	if got := ServerText(raw("bad key crsr_SECRET\nline2\u202e\x07"), "crsr_SECRET"); got != "bad key [redacted] line2" {
		t.Errorf("got %q", got)
	}
	if got := ServerText(json.RawMessage(`42`), ""); got != "" {
		t.Errorf("a number gave %q, want nothing", got)
	}
	long := ServerText(raw(strings.Repeat("é", 500)), "")
	if n := len([]rune(long)); n != MaxServerText+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("long text has %d runes: %q…", n, long[:20])
	}
}
