// The cursor-simulator command: serving until cancelled, its default key, bad arguments.

package simulator

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMainServesUntilCancelled(t *testing.T) {
	const key = "crsr_main-test-key"
	t.Setenv(APIKeyEnv, key)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"--members", "7", "--seed", "3", "--rate-limited", "1", "--retry-after", "60"}, pw, &stderr)
		pw.Close()
	}()
	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the URL: %v (stderr: %s)", err, stderr.String())
	}
	base := strings.TrimSuffix(line, "\n")
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+$`).MatchString(base) {
		t.Fatalf("first stdout line %q", line)
	}
	call := func(user string) (int, []byte, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, base+pathMembers, nil)
		req.SetBasicAuth(user, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body, resp.Header
	}
	if status, _, h := call(key); status != 429 || h.Get("Retry-After") != "60" {
		t.Fatalf("first call: %d Retry-After %q, want the --rate-limited 429", status, h.Get("Retry-After"))
	}
	status, body, _ := call(key)
	if status != 200 || len(decodeMembers(t, body)) != 7 {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, _ := call(DefaultAPIKey); status != 401 {
		t.Fatalf("the default key worked although %s is set: %d", APIKeyEnv, status)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Main: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Main did not return after cancel")
	}
	if rest, _ := io.ReadAll(out); len(rest) != 0 {
		t.Fatalf("more than one stdout line: %q", rest)
	}
	if _, err := http.Get(base + pathMembers); err == nil {
		t.Fatal("still serving after Main returned")
	}
	if s := stderr.String(); !strings.Contains(s, "7 members") || !strings.Contains(s, APIKeyEnv) || strings.Contains(s, key) {
		t.Fatalf("stderr %q: want members and key source, never the key", s)
	}
}

func TestMainDefaultKey(t *testing.T) {
	t.Setenv(APIKeyEnv, "")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- Main(ctx, []string{"--id-style", "number", "--members", "2"}, pw, &stderr) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSpace(line)+pathMembers, nil)
	req.SetBasicAuth(DefaultAPIKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !regexp.MustCompile(`^\{"teamMembers":\[\{"id":[0-9]+,`).Match(body) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "default demo key") {
		t.Fatalf("stderr does not say the default key is used: %q", stderr.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestMainRejectsBadArguments(t *testing.T) {
	cases := map[string][]string{
		"loopback":           {"--listen", "0.0.0.0:0"},
		"only loopback":      {"--listen", ":0"},
		"between 0 and":      {"--members", "2000000"},
		"IDStyle must be":    {"--id-style", "uuid"},
		"unexpected":         {"extra"},
		"flag provided":      {"--api-key", "x"},
		"ServerErrors must ": {"--server-errors", "-3"},
		"SCIMServerErrors":   {"--scim", "--scim-server-errors", "-2"},
		"not an email":       {"--scim-duplicate", "12345"},
		"-scim-token":        {"--scim-token", "x"},
	}
	for want, args := range cases {
		var stdout, stderr bytes.Buffer
		err := Main(context.Background(), args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), want) {
			t.Errorf("Main(%q) = %v (stderr %q), want an error mentioning %q", args, err, stderr.String(), want)
		}
		if stdout.Len() != 0 {
			t.Errorf("Main(%q) printed %q on stdout", args, stdout.String())
		}
	}
}
