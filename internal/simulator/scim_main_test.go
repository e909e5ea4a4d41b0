// SCIM at a million members and through the cursor-simulator command.

package simulator

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMillionMembersSCIM(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	start := time.Now()
	tenant, err := New(Config{Members: MaxMembers, Seed: 1, APIKey: testKey, SCIMToken: testSCIMToken})
	if err != nil {
		t.Fatal(err)
	}
	gen := time.Since(start)
	email := tenant.members[MaxMembers-2].Email
	req := httptest.NewRequest(http.MethodGet, filterPath(email), nil)
	req.Header.Set("Authorization", "Bearer "+testSCIMToken)
	start = time.Now()
	w := httptest.NewRecorder()
	tenant.ServeHTTP(w, req)
	first := time.Since(start)
	start = time.Now()
	w = httptest.NewRecorder()
	tenant.ServeHTTP(w, req)
	second := time.Since(start)
	t.Logf("New %v; first SCIM request (builds %d SCIM users) %v; next %v", gen, len(tenant.scim.users), first, second)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"totalResults":1`) {
		t.Fatalf("%d %.300s", w.Code, w.Body.String())
	}
	// How fast is for benchmarks, not for a test on a shared machine: the
	// times are logged only.
}

func TestMainSCIM(t *testing.T) {
	const token = "scim_main-test-token"
	t.Setenv(APIKeyEnv, "")
	t.Setenv(SCIMTokenEnv, token)
	base, stop, stderr := startMain(t, "--members", "30", "--scim", "--auto-first-login",
		"--scim-duplicate", "twin@acme.example", "--scim-server-errors", "1", "--scim-retry-after", "3")
	call := func(method, path, body string) (int, []byte, http.Header) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	if status, _, h := call(http.MethodGet, "/scim/v2/Users", ""); status != 503 || h.Get("Retry-After") != "3" {
		t.Fatalf("first SCIM call: %d Retry-After %q, want the --scim-server-errors 503", status, h.Get("Retry-After"))
	}
	if status, body, _ := call(http.MethodGet, filterPath("twin@acme.example"), ""); status != 200 || !strings.Contains(string(body), `"totalResults":2`) {
		t.Fatalf("--scim-duplicate: %d %.300s", status, body)
	}
	if status, body, _ := call(http.MethodPost, "/scim/v2/Users", createBody("main@acme.example", true)); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	req, _ := http.NewRequest(http.MethodGet, base+pathMembers, nil)
	req.SetBasicAuth(DefaultAPIKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"main@acme.example"`) {
		t.Fatal("--auto-first-login: the created user is not a member")
	}
	stop()
	s := stderr.String()
	if !strings.Contains(s, "SCIM at "+base+"/scim/v2") || !strings.Contains(s, SCIMTokenEnv) || strings.Contains(s, token) {
		t.Fatalf("stderr %q: want the SCIM base and token source, never the token", s)
	}

	// Default token, and SCIM off.
	t.Setenv(SCIMTokenEnv, "")
	base, stop, stderr = startMain(t, "--scim")
	req, _ = http.NewRequest(http.MethodGet, base+"/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Bearer "+DefaultSCIMToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("default token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	stop()
	if s := stderr.String(); !strings.Contains(s, "SCIM at") || strings.Contains(s, DefaultSCIMToken) {
		t.Fatalf("stderr %q: want the SCIM base, never the default token", s)
	}
	base, stop, stderr = startMain(t)
	if resp, err := http.Get(base + "/scim/v2/Users"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("without --scim: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	stop()
	if !strings.Contains(stderr.String(), "SCIM off") {
		t.Fatalf("stderr %q does not say SCIM is off", stderr.String())
	}
}

// startMain runs Main with args and returns the base URL, a function that
// stops it (failing the test on error) and its stderr.
func startMain(t *testing.T, args ...string) (string, func(), *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- Main(ctx, args, pw, stderr); pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading the URL: %v (stderr %s)", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	stop := func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Main: %v", err)
		}
	}
	t.Cleanup(cancel)
	return strings.TrimSpace(line), stop, stderr
}
