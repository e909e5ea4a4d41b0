// The fault switches: rate limits, server errors, delays, cut-off and invalid bodies.

package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

func TestRateLimitedThenRecovers(t *testing.T) {
	for _, retryAfter := range []string{"60", ""} {
		t.Run("Retry-After="+retryAfter, func(t *testing.T) {
			_, srv := newServer(t, Config{Members: 3, Faults: Faults{RateLimited: 2, RetryAfter: retryAfter}})
			for i := 0; i < 2; i++ {
				r := get(t, srv, pathMembers, testKey)
				expect(t, r, 429, want429)
				if v, ok := r.header["Retry-After"]; retryAfter == "" && ok || retryAfter != "" && (len(v) != 1 || v[0] != retryAfter) {
					t.Fatalf("Retry-After = %q, want %q", v, retryAfter)
				}
			}
			if r := get(t, srv, pathMembers, testKey); r.status != 200 {
				t.Fatalf("after the 429s: %d %s", r.status, r.body)
			}
		})
	}
}

func TestFaultOrder(t *testing.T) {
	_, srv := newServer(t, Config{Members: 3, BusinessPlan: true,
		Faults: Faults{RateLimited: 1, ServerErrors: 1, RetryAfter: "60", ServerRetryAfter: "7"}})
	// Rate limit and server errors come before auth, auth before the plan check.
	expect(t, get(t, srv, pathMembers, ""), 429, want429)
	r := get(t, srv, pathMembers, "")
	if r.status != 503 || r.header.Get("Retry-After") != "7" {
		t.Fatalf("second request: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	expect(t, get(t, srv, pathMembers, ""), 401, want401)
	expect(t, get(t, srv, pathMembers, testKey), 403, want403)
}

func TestServerErrorBurstThenRecovers(t *testing.T) {
	_, srv := newServer(t, Config{Members: 3, Faults: Faults{ServerErrors: 3, ServerRetryAfter: "2"}})
	for i := 0; i < 3; i++ {
		r := get(t, srv, pathMembers, testKey)
		var env struct{ Error, Message string }
		if r.status != 503 || json.Unmarshal(r.body, &env) != nil || env.Error != "Service Unavailable" || env.Message == "" {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Fatalf("Retry-After = %q, want 2", got)
		}
	}
	if r := get(t, srv, pathMembers, testKey); r.status != 200 {
		t.Fatalf("after the 503s: %d %s", r.status, r.body)
	}
}

func TestServerErrorsForever(t *testing.T) {
	_, srv := newServer(t, Config{Members: 3, Faults: Faults{ServerErrors: -1}})
	for i := 0; i < 25; i++ {
		r := get(t, srv, pathMembers, testKey)
		expect(t, r, 500, want500)
		if _, ok := r.header["Retry-After"]; ok {
			t.Fatal("Retry-After sent although ServerRetryAfter is empty")
		}
	}
}

func TestDelay(t *testing.T) {
	tenant, err := New(Config{Members: 3, APIKey: testKey, Faults: Faults{Delay: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	handlerDone := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant.ServeHTTP(w, r)
		handlerDone <- struct{}{}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+pathMembers, nil)
	req.SetBasicAuth(testKey, "")
	start := time.Now()
	resp, err := srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request succeeded with %d despite the delay", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want deadline exceeded", err)
	}
	select {
	case <-handlerDone:
	case <-time.After(5 * time.Second):
		t.Fatal("handler kept sleeping after the client went away")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}

	tenant.SetFaults(Faults{Delay: 150 * time.Millisecond})
	start = time.Now()
	r := get(t, srv, pathMembers, testKey)
	if d := time.Since(start); r.status != 200 || d < 150*time.Millisecond {
		t.Fatalf("short delay: %d after %v", r.status, d)
	}
	<-handlerDone
}

func TestTruncatedBody(t *testing.T) {
	_, srv := newServer(t, Config{Members: 200, Faults: Faults{Truncate: true}})
	_, full := newServer(t, Config{Members: 200})
	whole := get(t, full, pathMembers, testKey).body
	r := get(t, srv, pathMembers, testKey)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if !errors.Is(r.err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading the body: err = %v, want unexpected EOF", r.err)
	}
	if len(r.body) != len(whole)/2 || !bytes.HasPrefix(whole, r.body) {
		t.Fatalf("got %d bytes, want the first %d of the real body", len(r.body), len(whole)/2)
	}
	var v any
	if err := json.Unmarshal(r.body, &v); err == nil {
		t.Fatal("truncated body decoded as JSON")
	}
}

func TestInvalidJSON(t *testing.T) {
	_, srv := newServer(t, Config{Members: 5, Faults: Faults{InvalidJSON: true}})
	r := get(t, srv, pathMembers, testKey)
	if r.status != 200 || r.err != nil || len(r.body) == 0 || json.Valid(r.body) {
		t.Fatalf("got %d %v %q, want a 200 with a non-JSON body", r.status, r.err, r.body)
	}
}

var stringID = regexp.MustCompile(`^user_[A-Za-z0-9]{26}$`)
