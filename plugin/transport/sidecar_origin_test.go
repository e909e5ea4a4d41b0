package transport

// A tokenless sidecar answers only requests addressed to loopback and not
// sent by a web page of another site (issue 16, point 3): a page that
// rebinds its own name to 127.0.0.1 must not read the team.

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rebind calls ListMembers as a browser would after DNS rebinding: at the
// sidecar's address, with the headers given (Host among them). It returns
// the HTTP status, the body and the response headers.
func rebind(t *testing.T, method, base string, header http.Header) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, base+"/cursor.plugin.v1.PluginService/ListMembers", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	req.Host = header.Get("Host")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestTokenlessSidecarAnswersOnlyLoopbackHosts(t *testing.T) {
	base := startSidecar(t, 5, "")
	u, _ := url.Parse(base)
	_, port, _ := net.SplitHostPort(u.Host)

	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port, "127.0.0.1", "localhost", "LOCALHOST:" + port} {
		if code, body, _ := rebind(t, http.MethodPost, base, http.Header{"Host": {host}}); code != http.StatusOK || !strings.Contains(body, "@") {
			t.Errorf("Host %s: HTTP %d %.80q, want 200 with the members", host, code, body)
		}
	}
	for _, host := range []string{"evil.test:" + port, "evil.test", "127.0.0.1.evil.test:" + port, "localhost.evil.test", "10.0.0.1:" + port} {
		code, body, _ := rebind(t, http.MethodPost, base, http.Header{"Host": {host}})
		if code != http.StatusForbidden || strings.Contains(body, "@") || !strings.Contains(body, "loopback") {
			t.Errorf("Host %s: HTTP %d %.200q, want 403 naming loopback, without members", host, code, body)
		}
	}
}

func TestTokenlessSidecarRefusesOtherSitesPages(t *testing.T) {
	base := startSidecar(t, 5, "")
	for _, h := range []http.Header{
		{"Origin": {"http://evil.test"}},
		{"Origin": {"https://evil.test:8443"}},
		{"Origin": {"null"}}, // a sandboxed frame or a file: page
		{"Origin": {"http://localhost.evil.test"}},
		{"Sec-Fetch-Site": {"cross-site"}},
	} {
		code, body, _ := rebind(t, http.MethodPost, base, h)
		if code != http.StatusForbidden || strings.Contains(body, "@") {
			t.Errorf("%v: HTTP %d %.200q, want 403 without members", h, code, body)
		}
	}
	// A page of the operator's own machine may call it.
	for _, h := range []http.Header{
		{"Origin": {"http://localhost:3000"}},
		{"Origin": {"http://127.0.0.1:5173"}},
		{"Sec-Fetch-Site": {"same-origin"}},
		{"Sec-Fetch-Site": {"none"}}, // typed into the address bar
	} {
		if code, body, _ := rebind(t, http.MethodPost, base, h); code != http.StatusOK || !strings.Contains(body, "@") {
			t.Errorf("%v: HTTP %d %.80q, want 200 with the members", h, code, body)
		}
	}
	// A CORS preflight from another site is refused and grants nothing.
	code, _, header := rebind(t, http.MethodOptions, base, http.Header{"Origin": {"http://evil.test"},
		"Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"}})
	if code != http.StatusForbidden {
		t.Errorf("preflight from another site: HTTP %d, want 403", code)
	}
	for k := range header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("preflight answer carries %s: %q", k, header.Get(k))
		}
	}
}

func TestSidecarWithATokenIgnoresHostAndOrigin(t *testing.T) {
	base := startSidecar(t, 5, "sidecar-origin-test-token")
	h := http.Header{"Host": {"evil.test:8080"}, "Origin": {"http://evil.test"}, "Authorization": {"Bearer sidecar-origin-test-token"}}
	if code, body, _ := rebind(t, http.MethodPost, base, h); code != http.StatusOK || !strings.Contains(body, "@") {
		t.Errorf("with the token: HTTP %d %.80q, want 200 with the members", code, body)
	}
	h.Del("Authorization")
	if code, body, _ := rebind(t, http.MethodPost, base, h); code != http.StatusUnauthorized || strings.Contains(body, "@") {
		t.Errorf("without the token: HTTP %d %.80q, want 401", code, body)
	}
}
