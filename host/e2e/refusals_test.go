//go:build linux

// Refusals: each has its exit code and one line, and settings errors send nothing.

package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// The exact exit code and last line of Cursor's refusals: a rejected API key
// (16), a plan without the Admin API (7), a rejected SCIM token (16).
func TestRefusalExitCodes(t *testing.T) {
	t.Parallel()
	wrongKey := "crsr_" + strings.Repeat("0", 64)
	wrongToken := scimTestToken()[:20] + "WRONG" + scimTestToken()[25:]
	answered := simulator.Faults{Latency: 300 * time.Millisecond}
	cases := []struct {
		name     string
		cfg      simulator.Config
		key      string
		env      func(base string) []string
		code     int
		last     []string
		requests map[string]int
	}{
		// The two key refusals: every answer waits (answered), so the activity
		// requests sent beside the roster reach the tenant before its refusal
		// does; without it a busy machine can cancel them unsent.
		{name: "API key rejected", cfg: simulator.Config{Faults: answered}, key: wrongKey, code: exitUnauthenticated,
			last:     []string{"Cursor rejected the API key (HTTP 401", "check cursor-api-key (BATON_CURSOR_API_KEY)"},
			requests: map[string]int{membersPath: 1, auditPath: 1, spendPath: 1}},
		{name: "not an Enterprise plan", cfg: simulator.Config{BusinessPlan: true, Faults: answered}, key: testKey(), code: exitPermissionDenied,
			last:     []string{"Cursor refused the Admin API (HTTP 403", "Enterprise plan"},
			requests: map[string]int{membersPath: 1, auditPath: 1, spendPath: 1}},
		{name: "SCIM token rejected", cfg: simulator.Config{SCIMToken: scimTestToken()}, key: testKey(), code: exitUnauthenticated,
			env:      func(base string) []string { return scimEnv(base, wrongToken) },
			last:     []string{"Cursor's SCIM endpoint rejected the token (HTTP 401", "check cursor-scim-token"},
			requests: map[string]int{membersPath: 1, keySCIMList: 1}},
	}
	// Activity is read beside the roster read (issue 18.2): its first
	// requests (the newest login events, spend's first page; daily usage
	// once the team's size is known) go out with it, each once, and are
	// refused with it when the key is; after a SCIM refusal they may or may
	// not have been sent.
	activity := []string{auditPath, usagePath, spendPath}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Members, cfg.Seed = 20, 65
			_, srv := newTenant(t, cfg)
			var env []string
			if tc.env != nil {
				env = tc.env(srv.URL)
			}
			c1z := filepath.Join(t.TempDir(), "out.c1z")
			r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z), Key: strPtr(tc.key), Env: env}, 60*time.Second)
			fxRequireExit(t, r, tc.code)
			requireLastLine(t, tc.name, r, tc.last...)
			got := allRequests(t, srv.URL)
			if _, keyRefused := tc.requests[auditPath]; !keyRefused {
				for _, path := range activity {
					if got[path] <= 1 {
						delete(got, path)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.requests) {
				t.Errorf("requests %v, want %v (refusals are not retried)", got, tc.requests)
			}
			requireNoFinishedSync(t, c1z)
			requireNoSecret(t, "the output", []byte(r.out.String()), tc.key)
		})
	}
}

// --- configuration errors ---

// fxCountingListener accepts TCP connections on loopback and counts them; it
// stands in for a sidecar that must never be contacted.
func fxCountingListener(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return "http://" + l.Addr().String(), &n
}

// Each configuration error fails before any network call, with exit 3 and a
// last line naming the setting; a key is never echoed.
func TestConfigErrorsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	key := testKey()
	cases := []struct {
		name string
		key  *string                         // nil: BATON_CURSOR_API_KEY unset
		args func(base, c1z string) []string // the host's arguments; SIDECAR stands for a listener that counts connections
		last []string                        // the last line names all of these
	}{
		{name: "API key unset", key: nil,
			last: []string{"cursor-api-key is not set", "BATON_CURSOR_API_KEY"}},
		{name: "API key with inner whitespace", key: strPtr(key[:30] + " " + key[30:]),
			last: []string{"cursor-api-key contains whitespace", "the key is not shown here"}},
		{name: "API key with surrounding whitespace", key: strPtr(" " + key + "\t"),
			last: []string{"cursor-api-key has leading or trailing whitespace", "the key is not shown here"}},
		{name: "base URL without a scheme", key: &key,
			args: func(base, c1z string) []string {
				return []string{"--cursor-base-url", strings.TrimPrefix(base, "http://") + "/v1", "-f", c1z}
			},
			last: []string{"cursor-base-url", "expected something like https://api.cursor.com"}},
		{name: "base URL as a bare host name", key: &key,
			args: func(_, c1z string) []string { return []string{"--cursor-base-url", "api.cursor.com", "-f", c1z} },
			last: []string{"cursor-base-url must start with https:// or http:// (got api.cursor.com)"}},
		{name: "plugin token file missing", key: nil,
			args: func(_, c1z string) []string {
				return []string{"--plugin-address", "SIDECAR", "--plugin-token-file", "/nonexistent/sidecar.token", "-f", c1z}
			},
			last: []string{"plugin-token-file", "/nonexistent/sidecar.token", "no such file"}},
		{name: "plugin token file is a directory", key: nil,
			args: func(_, c1z string) []string {
				return []string{"--plugin-address", "SIDECAR", "--plugin-token-file", filepath.Dir(c1z), "-f", c1z}
			},
			last: []string{"plugin-token-file", "is a directory"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newTenant(t, simulator.Config{Members: 20, Seed: 66})
			sidecar, accepted := fxCountingListener(t)
			c1z := filepath.Join(t.TempDir(), "out.c1z")
			args := syncArgs(srv.URL, c1z)
			if tc.args != nil {
				args = tc.args(srv.URL, c1z)
			}
			for i, a := range args {
				if a == "SIDECAR" {
					args[i] = sidecar
				}
			}
			r := runHost(t, runOpts{Args: args, Key: tc.key}, 30*time.Second)
			fxRequireExit(t, r, exitInvalidArgument)
			requireLastLine(t, tc.name, r, tc.last...)
			fxRequireNoRequests(t, srv.URL)
			if n := accepted.Load(); n != 0 {
				t.Errorf("%d connections reached the sidecar address, want 0", n)
			}
			requireNoFinishedSync(t, c1z)
			if tc.key != nil {
				requireNoSecret(t, "the output", []byte(r.out.String()), strings.TrimSpace(*tc.key))
				requireNoSecret(t, "the output", []byte(r.out.String()), key)
			}
		})
	}
}
