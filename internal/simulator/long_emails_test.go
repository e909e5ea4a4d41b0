package simulator

import (
	"strings"
	"testing"
)

// With LongEmails every address served is 254 characters, RFC 5321's
// longest, and still a legal, unique address: a local part of at most 64,
// domain labels of at most 63.
func TestLongEmailsAreTheLongestLegalAddresses(t *testing.T) {
	_, srv := newServer(t, Config{Members: 2000, Seed: 5, LongEmails: true})
	rows := decodeMembers(t, get(t, srv, pathMembers, testKey).body)
	if len(rows) != 2000 {
		t.Fatalf("%d rows, want 2000", len(rows))
	}
	seen := map[string]bool{}
	for _, m := range rows {
		local, domain, ok := strings.Cut(m.Email, "@")
		if len(m.Email) != 254 || !ok || len(local) > 64 {
			t.Fatalf("email %q (%d characters): want 254, a local part of at most 64", m.Email, len(m.Email))
		}
		for _, label := range strings.Split(domain, ".") {
			if label == "" || len(label) > 63 {
				t.Fatalf("email %q has a domain label of %d characters", m.Email, len(label))
			}
		}
		if key := strings.ToLower(m.Email); seen[key] {
			t.Fatalf("email %q repeats", m.Email)
		} else {
			seen[key] = true
		}
	}
}
