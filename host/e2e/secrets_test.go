//go:build linux

// The API key never reaches the c1z, the logs, argv or the environment of other processes.

package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/c1zread"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

// secretKey is a realistic, incompressible-looking key: "crsr_" and 64
// base62 characters.
func secretKey() string { return recognisableSecret("crsr_", 64, 0x9E3779B9) }

// recognisableSecret is prefix and n base62 characters from a fixed
// pseudo-random sequence (xorshift from seed): easy to search for, and never
// written into a file as a literal.
func recognisableSecret(prefix string, n int, seed uint32) string {
	const chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := []byte(prefix)
	x := seed
	for range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b = append(b, chars[x%62])
	}
	return string(b)
}

// requireC1ZWithoutSecret fails if the c1z file, or what it holds decoded
// (the file is compressed), contains the secret.
func requireC1ZWithoutSecret(t *testing.T, c1z string, tenant *simulator.Tenant, secret string) {
	t.Helper()
	raw, err := os.ReadFile(c1z)
	if err != nil {
		t.Fatal(err)
	}
	requireNoSecret(t, "the c1z file", raw, secret)
	c, err := c1zread.Read(context.Background(), c1z)
	if err != nil {
		t.Fatal(err)
	}
	dump := dumpContents(t, c)
	if !bytes.Contains(dump, []byte(strings.ToLower(tenant.Members()[0].Email))) {
		t.Fatalf("decoded c1z dump does not even hold a member's email; searching it would prove nothing")
	}
	requireNoSecret(t, "the c1z contents", dump, secret)
}

// requireNoSecret fails if data holds the key or its last 16 characters.
func requireNoSecret(t *testing.T, where string, data []byte, secret string) {
	t.Helper()
	for _, s := range []string{secret, secret[len(secret)-16:]} {
		if i := bytes.Index(data, []byte(s)); i >= 0 {
			lo, hi := max(0, i-120), min(len(data), i+len(s)+40)
			t.Errorf("%s contains the secret %.9s… (or its last 16 chars) at byte %d: …%q…", where, secret, i, data[lo:hi])
		}
	}
}

// requireProcessesWithoutSecrets checks the running plugin's command line and
// environment, and the command line of every process between the host and
// it (the host itself was handed the secrets by the test), for the secrets
// and for envName. It returns the plugin's environment for further checks.
func requireProcessesWithoutSecrets(t *testing.T, r *hostRun, p procInfo, envName string, secrets ...string) []byte {
	t.Helper()
	cmdline, err := readProcFile(p.pid, "cmdline")
	if err != nil {
		t.Fatalf("read plugin cmdline: %v", err)
	}
	environ, err := readProcFile(p.pid, "environ")
	if err != nil {
		t.Fatalf("read plugin environ: %v", err)
	}
	for _, s := range secrets {
		requireNoSecret(t, "the plugin's command line", cmdline, s)
		requireNoSecret(t, "the plugin's environment", environ, s)
	}
	if bytes.Contains(environ, []byte(envName)) {
		t.Errorf("plugin environment holds %s", envName)
	}
	for pid := p.ppid; pid > 1 && pid != r.cmd.Process.Pid; {
		info, ok := readProc(pid)
		if !ok {
			break
		}
		for _, s := range secrets {
			requireNoSecret(t, "the command line of host process "+strconv.Itoa(pid), []byte(strings.Join(info.argv, " ")), s)
		}
		pid = info.ppid
	}
	return environ
}

func TestSecretsStayOut(t *testing.T) {
	key := secretKey()
	if len(key) != 69 {
		t.Fatalf("secret key has %d chars", len(key))
	}

	t.Run("good sync", func(t *testing.T) {
		tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 5, APIKey: key,
			Faults: simulator.Faults{Delay: 2 * time.Second}})
		c1z := filepath.Join(t.TempDir(), "out.c1z")
		r := startHost(t, runOpts{Args: syncArgs(srv.URL, c1z, "--log-level", "debug"), Key: &key})

		// While the first fetch is held, look at the plugin process.
		p := waitForPlugin(t, r, 30*time.Second)
		environ := requireProcessesWithoutSecrets(t, r, p, "BATON_CURSOR_API_KEY", key)
		if !bytes.Contains(environ, []byte("BATON_CURSOR_PLUGIN_LOG_LEVEL=debug")) {
			t.Errorf("plugin environment lacks BATON_CURSOR_PLUGIN_LOG_LEVEL=debug (is this the plugin started with --log-level debug?)")
		}

		r.wait(t, 60*time.Second)
		if code := r.exitCode(); code != 0 {
			t.Fatalf("sync exited %d; output:\n%s", code, tail(r.out.String(), 30))
		}
		if tenant.Requests(membersPath) != 1 {
			t.Errorf("%s requests: %d, want 1", membersPath, tenant.Requests(membersPath))
		}
		out := r.out.String()
		requireNoSecret(t, "the debug output", []byte(out), key)
		if !strings.Contains(out, `"level":"debug"`) {
			t.Errorf("output has no debug lines; --log-level debug did not take effect")
		}
		requireC1ZWithoutSecret(t, c1z, tenant, key)
	})

	for _, tc := range failureCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Members, cfg.APIKey = 50, key
			// The bad key case: a near-miss of the real one.
			wrong := key[:len(key)-1] + "Q"
			if wrong == key {
				wrong = key[:len(key)-1] + "R"
			}
			k := &key
			if tc.name == "bad key" {
				k = &wrong
			}
			_, srv := newTenant(t, cfg)
			c1z := filepath.Join(t.TempDir(), "out.c1z")
			r := runHost(t, runOpts{Args: syncArgs(srv.URL, c1z, "--log-level", "debug"), Key: k}, tc.limit)
			if r.exitCode() == 0 {
				t.Errorf("sync succeeded, want a failure")
			}
			out := []byte(r.out.String())
			requireNoSecret(t, "the debug output", out, *k)
			if tc.name == "bad key" {
				requireNoSecret(t, "the debug output", out, key)
			}
			if raw, err := os.ReadFile(c1z); err == nil {
				requireNoSecret(t, "the c1z file", raw, *k)
			}
		})
	}
}
