package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/httpretry/retrytest"
)

// recorder is the injected clock: it records waits and never sleeps.
type recorder = retrytest.Clock

var secs = retrytest.Seconds

// server answers request i (0-based) with handlers[min(i, last)] and counts requests.
func server(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		handlers[min(i, len(handlers)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"status":%d}`, code)
	}
}

func get(url string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

func TestDefaultScheduleThenGiveUpWithLastResponse(t *testing.T) {
	srv, n := server(t, status(503))
	rec := &recorder{}
	var hooks []string
	p := Policy{Wait: rec.Wait, OnRetry: func(attempt int, wait time.Duration, reason string) {
		hooks = append(hooks, fmt.Sprintf("%d %s %s", attempt, wait, reason))
	}}
	resp, err := Do(context.Background(), srv.Client(), p, get(srv.URL))
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if got, want := rec.Waits(), secs(1, 2, 4, 8, 16); !reflect.DeepEqual(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	if n.Load() != 6 || resp.Attempts != 6 {
		t.Errorf("requests = %d, Attempts = %d, want 6 and 6", n.Load(), resp.Attempts)
	}
	if resp.Status != 503 || string(resp.Body) != `{"status":503}` {
		t.Errorf("last response = %d %q", resp.Status, resp.Body)
	}
	if RoundElapsed(resp.Elapsed) != 31*time.Second {
		t.Errorf("Elapsed = %v, want ~31s", resp.Elapsed)
	}
	wantHooks := []string{"1 1s HTTP 503", "2 2s HTTP 503", "3 4s HTTP 503", "4 8s HTTP 503", "5 16s HTTP 503"}
	if !reflect.DeepEqual(hooks, wantHooks) {
		t.Errorf("OnRetry calls = %q, want %q", hooks, wantHooks)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	date := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		first http.HandlerFunc
		want  []time.Duration
	}{
		{"429 seconds", status(429, "Retry-After", "7"), secs(7)},
		{"503 seconds", status(503, "Retry-After", "3"), secs(3)},
		{"429 HTTP date against Date header", status(429,
			"Date", date.Format(http.TimeFormat),
			"Retry-After", date.Add(9*time.Second).Format(http.TimeFormat)), secs(9)},
		{"clamped to MaxRetryAfter", status(429, "Retry-After", "86400"), []time.Duration{5 * time.Minute}},
		{"429 without Retry-After uses schedule", status(429), secs(1)},
		{"negative falls back to schedule", status(429, "Retry-After", "-5"), secs(1)},
		{"unparsable falls back to schedule", status(429, "Retry-After", "soon"), secs(1)},
		{"past date falls back to schedule", status(429, "Retry-After", date.Format(http.TimeFormat)), secs(1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := server(t, tc.first, status(200))
			rec := &recorder{}
			resp, err := Do(context.Background(), srv.Client(), Policy{Wait: rec.Wait}, get(srv.URL))
			if err != nil || resp.Status != 200 {
				t.Fatalf("Do = %v, %v; want 200", resp, err)
			}
			if got := rec.Waits(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("waits = %v, want %v", got, tc.want)
			}
			if n.Load() != 2 {
				t.Errorf("requests = %d, want 2", n.Load())
			}
		})
	}
}

func TestRetryAfterDateWithoutDateHeaderUsesOurClock(t *testing.T) {
	h := http.Header{"Retry-After": {time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)}}
	d, ok := RetryAfter(h, time.Now(), time.Hour)
	if !ok || d <= 28*time.Second || d > 30*time.Second {
		t.Errorf("RetryAfter = %v, %v; want about 30s", d, ok)
	}
}

func TestRecoversAfterTwoFailures(t *testing.T) {
	srv, n := server(t, status(500), status(502), status(200))
	rec := &recorder{}
	resp, err := Do(context.Background(), srv.Client(), Policy{Wait: rec.Wait}, get(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || resp.Attempts != 3 || n.Load() != 3 || string(resp.Body) != `{"status":200}` {
		t.Errorf("got %d after %d attempts (%d requests), body %q", resp.Status, resp.Attempts, n.Load(), resp.Body)
	}
	if got, want := rec.Waits(), secs(1, 2); !reflect.DeepEqual(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestOtherStatusesNotRetried(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409, 501} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv, n := server(t, status(code), status(200))
			rec := &recorder{}
			resp, err := Do(context.Background(), srv.Client(), Policy{Wait: rec.Wait}, get(srv.URL))
			if err != nil || resp.Status != code {
				t.Fatalf("Do = %v, %v; want %d", resp, err, code)
			}
			if n.Load() != 1 || len(rec.Waits()) != 0 {
				t.Errorf("requests = %d, waits = %v; want 1 request, no waits", n.Load(), rec.Waits())
			}
		})
	}
}

func TestNetworkErrorRetriedThenReported(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens any more: connection refused
	rec := &recorder{}
	calls := 0
	newReq := func(ctx context.Context) (*http.Request, error) {
		calls++
		return http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/x", nil)
	}
	_, err = Do(context.Background(), &http.Client{}, Policy{Wait: rec.Wait}, newReq)
	var nerr *NetworkError
	if !errors.As(err, &nerr) {
		t.Fatalf("err = %v, want *NetworkError", err)
	}
	if calls != 6 || nerr.Attempts != 6 {
		t.Errorf("attempts = %d (NetworkError says %d), want 6", calls, nerr.Attempts)
	}
	if got, want := rec.Waits(), secs(1, 2, 4, 8, 16); !reflect.DeepEqual(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	msg := err.Error()
	for _, want := range []string{"no answer from " + addr, "after 6 attempts over 31s", "connection refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error does not wrap ECONNREFUSED: %v", err)
	}
}

// rt is a RoundTripper that fails with a fixed error, to classify errors without a network.
type rt func(*http.Request) (*http.Response, error)

func (f rt) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransportErrorClassification(t *testing.T) {
	cases := []struct {
		err   error
		tries int
	}{
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, 6},
		{io.ErrUnexpectedEOF, 6},
		{&net.DNSError{Err: "no such host", Name: "api.cursr.com", IsNotFound: true}, 1},
		{&net.DNSError{Err: "server misbehaving", Name: "api.cursor.com", IsTemporary: true}, 6},
		{errors.New("http: server gave HTTP response to HTTPS client"), 1},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			calls := 0
			hc := &http.Client{Transport: rt(func(*http.Request) (*http.Response, error) { calls++; return nil, tc.err })}
			_, err := Do(context.Background(), hc, Policy{Wait: (&recorder{}).Wait}, get("http://api.cursor.test/x"))
			var nerr *NetworkError
			if !errors.As(err, &nerr) || calls != tc.tries {
				t.Errorf("calls = %d, err = %v; want %d calls and a *NetworkError", calls, err, tc.tries)
			}
		})
	}
}

func TestAttemptTimeout(t *testing.T) {
	stall := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	stallInBody := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		io.WriteString(w, `{"teamMembers":[`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	for name, h := range map[string]http.HandlerFunc{"before headers": stall, "while reading body": stallInBody} {
		t.Run(name, func(t *testing.T) {
			srv, n := server(t, h, status(200))
			rec := &recorder{}
			p := Policy{Wait: rec.Wait, AttemptTimeout: 50 * time.Millisecond}
			resp, err := Do(context.Background(), srv.Client(), p, get(srv.URL))
			if err != nil || resp.Status != 200 {
				t.Fatalf("Do = %v, %v; want 200 on the second attempt", resp, err)
			}
			if n.Load() != 2 || !reflect.DeepEqual(rec.Waits(), secs(1)) {
				t.Errorf("requests = %d, waits = %v; want 2 and [1s]", n.Load(), rec.Waits())
			}
		})
	}
	t.Run("every attempt", func(t *testing.T) {
		srv, _ := server(t, stall)
		p := Policy{Wait: (&recorder{}).Wait, AttemptTimeout: 50 * time.Millisecond, Backoff: secs(1)}
		_, err := Do(context.Background(), srv.Client(), p, get(srv.URL))
		var nerr *NetworkError
		if !errors.As(err, &nerr) || nerr.Attempts != 2 || !strings.Contains(err.Error(), "within the 50ms attempt timeout") {
			t.Errorf("err = %v; want a NetworkError after 2 attempts naming the timeout", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("an attempt timeout must not look like the caller's deadline: %v", err)
		}
	})
}

func TestTruncatedBodyRetried(t *testing.T) {
	truncate := func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"teamMem")
		buf.Flush()
		conn.Close()
	}
	srv, n := server(t, truncate, status(200))
	rec := &recorder{}
	var reasons []string
	p := Policy{Wait: rec.Wait, OnRetry: func(_ int, _ time.Duration, reason string) { reasons = append(reasons, reason) }}
	resp, err := Do(context.Background(), srv.Client(), p, get(srv.URL))
	if err != nil || resp.Status != 200 || string(resp.Body) != `{"status":200}` {
		t.Fatalf("Do = %v, %v; want the complete second answer", resp, err)
	}
	if n.Load() != 2 || len(reasons) != 1 || !strings.Contains(reasons[0], "unexpected EOF") {
		t.Errorf("requests = %d, retry reasons = %q; want 2 and one unexpected EOF", n.Load(), reasons)
	}
}

func TestCancelDuringWaitReturnsPromptly(t *testing.T) {
	srv, n := server(t, status(503))
	ctx, cancel := context.WithCancel(context.Background())
	// The injected wait cancels the caller's context while "sleeping".
	wait := func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() }
	_, err := Do(ctx, srv.Client(), Policy{Wait: wait}, get(srv.URL))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var nerr *NetworkError
	if errors.As(err, &nerr) {
		t.Errorf("cancellation reported as a network error: %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("requests = %d, want 1", n.Load())
	}
}

func TestDefaultWaitHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("sleep = %v, want context.Canceled", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("sleep took %v after cancel", time.Since(start))
	}
}

func TestCancelDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) { cancel(); <-r.Context().Done() })
	rec := &recorder{}
	_, err := Do(ctx, srv.Client(), Policy{Wait: rec.Wait}, get(srv.URL))
	if !errors.Is(err, context.Canceled) || n.Load() != 1 || len(rec.Waits()) != 0 {
		t.Errorf("err = %v, requests = %d, waits = %v; want Canceled after 1 request, no waits", err, n.Load(), rec.Waits())
	}
}

func TestNewRequestCalledOncePerAttemptWithFreshBody(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	record := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			w.WriteHeader(code)
		}
	}
	srv, n := server(t, record(500), record(429), record(200))
	calls := 0
	newReq := func(ctx context.Context) (*http.Request, error) {
		calls++
		return http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(`{"email":"a@example.com"}`))
	}
	if _, err := Do(context.Background(), srv.Client(), Policy{Wait: (&recorder{}).Wait}, newReq); err != nil {
		t.Fatal(err)
	}
	if calls != 3 || n.Load() != 3 {
		t.Errorf("newRequest calls = %d, requests = %d, want 3 and 3", calls, n.Load())
	}
	for i, b := range bodies {
		if b != `{"email":"a@example.com"}` {
			t.Errorf("request %d body = %q", i+1, b)
		}
	}
}

func TestNewRequestErrorNotRetried(t *testing.T) {
	calls := 0
	boom := errors.New("boom")
	_, err := Do(context.Background(), http.DefaultClient, Policy{Wait: (&recorder{}).Wait},
		func(context.Context) (*http.Request, error) { calls++; return nil, boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("err = %v after %d calls; want boom after 1", err, calls)
	}
}

func TestBodyLimit(t *testing.T) {
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 2000)) })
	_, err := Do(context.Background(), srv.Client(), Policy{Wait: (&recorder{}).Wait, MaxBodyBytes: 1000}, get(srv.URL))
	if err == nil || !strings.Contains(err.Error(), "more than 1000 bytes") || n.Load() != 1 {
		t.Errorf("err = %v after %d requests; want a size error after 1", err, n.Load())
	}
}

func TestEmptyBackoffMeansNoRetries(t *testing.T) {
	srv, n := server(t, status(503))
	resp, err := Do(context.Background(), srv.Client(), Policy{Backoff: []time.Duration{}, Wait: (&recorder{}).Wait}, get(srv.URL))
	if err != nil || resp.Status != 503 || n.Load() != 1 {
		t.Errorf("Do = %v, %v after %d requests; want the 503 after 1", resp, err, n.Load())
	}
}
