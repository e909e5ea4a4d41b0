package cursorapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/httpretry"
	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/httpretry/retrytest"
)

// testKey looks like a real key so a leak into any message is easy to spot.
const testKey = "crsr_SECRETk3yDoNotLeak0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"

// recorder is the injected clock: it records waits and never sleeps.
type recorder = retrytest.Clock

var secs = retrytest.Seconds

// fake answers request i with handlers[min(i, last)] and counts requests.
func fake(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		handlers[min(i, len(handlers)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func reply(code int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

const oneMember = `{"teamMembers":[{"id":"user_1","name":"Dana","email":"dana@example.com","role":"member","isRemoved":false}]}`

func newClient(t *testing.T, base string, rec *recorder) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: base, APIKey: testKey, Retry: httpretry.Policy{Wait: rec.Wait}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// requireCode checks err's gRPC code and message, and that the key never leaks.
func requireCode(t *testing.T, err error, code codes.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", code)
	}
	noKey(t, err)
	if got := status.Code(err); got != code {
		t.Errorf("code = %v, want %v (err: %v)", got, code, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err.Error(), s)
		}
	}
}

func noKey(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, text := range []string{err.Error(), status.Convert(err).Message(), fmt.Sprintf("%+v", err)} {
		if strings.Contains(text, testKey) || strings.Contains(text, testKey[5:20]) {
			t.Errorf("error leaks the API key: %q", text)
		}
	}
}

func TestRequestHeadersAndBasicAuth(t *testing.T) {
	for _, key := range []string{testKey, "key_" + strings.Repeat("a1", 32), "undocumented-format-but-non-empty"} {
		t.Run(key[:4], func(t *testing.T) {
			var got *http.Request
			srv, n := fake(t, func(w http.ResponseWriter, r *http.Request) {
				got = r.Clone(context.Background())
				io.WriteString(w, oneMember)
			})
			c, err := New(Config{BaseURL: srv.URL + "/", APIKey: key, UserAgent: "baton-cursor-plugin/1.2.3", Retry: httpretry.Policy{Wait: (&recorder{}).Wait}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ListMembers(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
			if h := got.Header.Get("Authorization"); h != want {
				t.Errorf("Authorization = %q, want %q", h, want)
			}
			if got.Method != http.MethodGet || got.URL.Path != "/teams/members" || got.URL.RawQuery != "page=1&pageSize=500" {
				t.Errorf("request = %s %s", got.Method, got.URL)
			}
			if got.Header.Get("Accept") != "application/json" || got.Header.Get("User-Agent") != "baton-cursor-plugin/1.2.3" {
				t.Errorf("Accept = %q, User-Agent = %q", got.Header.Get("Accept"), got.Header.Get("User-Agent"))
			}
			if n.Load() != 1 {
				t.Errorf("requests = %d, want 1", n.Load())
			}
		})
	}
}

func TestBaseURLPathPrefix(t *testing.T) {
	var path string
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request) { path = r.URL.Path; io.WriteString(w, oneMember) })
	if _, err := newClient(t, srv.URL+"/cursor/", &recorder{}).ListMembers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if path != "/cursor/teams/members" {
		t.Errorf("path = %q, want /cursor/teams/members", path)
	}
}

func TestNewRejectsBadKeysBeforeAnyRequest(t *testing.T) {
	srv, n := fake(t, reply(200, oneMember))
	cases := map[string]string{
		"":                                   "is empty",
		"   \t":                              "is empty",
		" " + testKey:                        "leading or trailing whitespace",
		testKey + "\n":                       "leading or trailing whitespace",
		"crsr_abc def":                       "whitespace or control characters",
		"crsr_abc\x00def":                    "whitespace or control characters",
		"crsr_abc\u00a0def":                  "whitespace or control characters",
		testKey + ":":                        "contains ':'",
		testKey[:30] + "\x7f" + testKey[30:]: "whitespace or control characters",
	}
	for key, want := range cases {
		c, err := New(Config{BaseURL: srv.URL, APIKey: key})
		if c != nil {
			t.Errorf("New(%q) returned a client", key)
		}
		requireCode(t, err, codes.InvalidArgument, "cursor-api-key", want)
	}
	if n.Load() != 0 {
		t.Errorf("requests = %d, want 0", n.Load())
	}
}

func TestNewRejectsBadBaseURLsBeforeAnyRequest(t *testing.T) {
	srv, n := fake(t, reply(200, oneMember))
	host := strings.TrimPrefix(srv.URL, "http://")
	cases := map[string]string{
		host:                                  "https://",    // no scheme
		"api.cursor.com":                      "https://",    // no scheme
		"ftp://" + host:                       "https://",    // wrong scheme
		"https://":                            "has no host", // empty host
		"http://:8080":                        "has no host", // port only
		"https:///teams":                      "has no host", // empty host, path only
		srv.URL + "?x=1":                      "query or fragment",
		srv.URL + "#frag":                     "query or fragment",
		"https://user:hunter2@api.cursor.com": "user name or password",
		" " + srv.URL:                         "whitespace",
		"http://[::1":                         "is not a URL",
	}
	for raw, want := range cases {
		c, err := New(Config{BaseURL: raw, APIKey: testKey})
		if c != nil {
			t.Errorf("New(BaseURL %q) returned a client", raw)
		}
		requireCode(t, err, codes.InvalidArgument, "cursor-base-url", want)
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error echoes a password: %v", err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("requests = %d, want 0", n.Load())
	}
}

func TestDefaultBaseURL(t *testing.T) {
	c, err := New(Config{APIKey: testKey})
	if err != nil || c.base != "https://api.cursor.com" {
		t.Errorf("New = %v, %v; want base https://api.cursor.com", c, err)
	}
}

func TestListMembersDecodesEveryIDShape(t *testing.T) {
	body := `{"teamMembers":[
	  {"id":"user_3fKq9ZbT1mWcYp0aLxRv7sHdEe","name":"Dana \"D\" L\u00e9vi","email":"Dana@Example.com","role":"member","isRemoved":false,"user_id":42},
	  {"id":12345678901234567890,"name":"Ops","email":"it@example.com","role":"free-owner","isRemoved":false,"extra":{"nested":[1,2]}},
	  {"name":"Old","email":"old@example.com","role":"owner","isRemoved":true},
	  {"id":null,"name":"Nil","email":"nil@example.com","role":"billing-admin"}
	],"unknownTopLevel":true}`
	srv, _ := fake(t, reply(200, body))
	got, err := newClient(t, srv.URL, &recorder{}).ListMembers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{
		{ID: "user_3fKq9ZbT1mWcYp0aLxRv7sHdEe", Email: "Dana@Example.com", Name: `Dana "D" Lévi`, Role: "member"},
		{ID: "12345678901234567890", Email: "it@example.com", Name: "Ops", Role: "free-owner"},
		{ID: "", Email: "old@example.com", Name: "Old", Role: "owner", IsRemoved: true},
		{ID: "", Email: "nil@example.com", Name: "Nil", Role: "billing-admin"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("members =\n%+v\nwant\n%+v", got, want)
	}
}

func TestListMembersBareArray(t *testing.T) {
	srv, _ := fake(t, reply(200, ` [{"name":"A","email":"a@example.com","role":"owner"},{"name":"B","email":"b@example.com","role":"member"}]`))
	got, err := newClient(t, srv.URL, &recorder{}).ListMembers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{{Email: "a@example.com", Name: "A", Role: "owner"}, {Email: "b@example.com", Name: "B", Role: "member"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("members = %+v, want %+v", got, want)
	}
}

func TestEmptyTeamMembersIsNotAnError(t *testing.T) {
	srv, _ := fake(t, reply(200, `{"teamMembers":[]}`))
	got, err := newClient(t, srv.URL, &recorder{}).ListMembers(context.Background())
	if err != nil || len(got) != 0 {
		t.Errorf("ListMembers = %v, %v; want no members and no error", got, err)
	}
}

func TestMalformed200IsInternalWithoutBodyContent(t *testing.T) {
	const pii = "carol.private@example.com"
	cases := map[string]struct {
		body string
		want string
	}{
		"not JSON":           {`<html>` + pii + `</html>`, "not valid JSON (syntax error at offset 1 of 38 bytes)"},
		"cut JSON":           {`{"teamMembers":[{"email":"` + pii + `"`, "not valid JSON (syntax error at offset"},
		"empty":              {``, "not valid JSON (syntax error at offset 0 of 0 bytes)"},
		"no teamMembers":     {`{"members":[{"email":"` + pii + `"}]}`, "without a teamMembers list"},
		"null teamMembers":   {`{"teamMembers":null,"x":"` + pii + `"}`, "without a teamMembers list"},
		"email is a number":  {`{"teamMembers":[{"email":12,"name":"` + pii + `"}]}`, "unexpected shape"},
		"id is an object":    {`{"teamMembers":[{"id":{"v":"` + pii + `"}}]}`, "member id is neither a string nor a number"},
		"teamMembers object": {`{"teamMembers":{"email":"` + pii + `"}}`, "unexpected shape"},
		"top-level string":   {`"` + pii + `"`, "unexpected shape"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, n := fake(t, reply(200, tc.body))
			_, err := newClient(t, srv.URL, &recorder{}).ListMembers(context.Background())
			requireCode(t, err, codes.Internal, tc.want)
			if strings.Contains(err.Error(), "carol") || strings.Contains(err.Error(), "html") {
				t.Errorf("error quotes the body: %v", err)
			}
			if n.Load() != 1 {
				t.Errorf("requests = %d, want 1 (a malformed 200 is not retried)", n.Load())
			}
		})
	}
}

func TestErrorEnvelopes(t *testing.T) {
	long := strings.Repeat("x", 300)
	cases := []struct {
		name   string
		status int
		body   string
		code   codes.Code
		msg    string // exact message, or "" to check parts only
		parts  []string
		fields APIError // Reason, Message, Code, Outcome expected
	}{
		{name: "401 documented", status: 401, body: `{"error":"Unauthorized","message":"Invalid API key"}`, code: codes.Unauthenticated,
			msg:    "Cursor rejected the API key (HTTP 401: Invalid API key); check cursor-api-key (BATON_CURSOR_API_KEY): it must be a team Admin API key from cursor.com/dashboard → API Keys",
			fields: APIError{Reason: "Unauthorized", Message: "Invalid API key"}},
		{name: "401 with statusCode", status: 401, body: `{"statusCode":401,"error":"Unauthorized","message":"Invalid API key"}`, code: codes.Unauthenticated,
			parts: []string{"(HTTP 401: Invalid API key)"}, fields: APIError{Reason: "Unauthorized", Message: "Invalid API key"}},
		{name: "401 empty body", status: 401, body: ``, code: codes.Unauthenticated,
			parts: []string{"(HTTP 401: Unauthorized, empty body)"}},
		{name: "403 documented", status: 403, body: `{"error":"Forbidden","message":"Enterprise access required"}`, code: codes.PermissionDenied,
			msg:    "Cursor refused the Admin API (HTTP 403: Enterprise access required): the Admin API needs a Cursor Enterprise plan and an Admin API key with the admin:* scope",
			fields: APIError{Reason: "Forbidden", Message: "Enterprise access required"}},
		{name: "403 code envelope", status: 403, body: `{"code":"error","message":"You must be a member of an enterprise team to access this resource"}`, code: codes.PermissionDenied,
			parts: []string{"(HTTP 403: You must be a member of an enterprise team to access this resource)", "Enterprise plan"}, fields: APIError{Code: "error", Message: "You must be a member of an enterprise team to access this resource"}},
		{name: "404 documented", status: 404, body: `{"error":"Not Found","message":"Resource not found"}`, code: codes.NotFound,
			parts: []string{"(HTTP 404: Resource not found)", "check cursor-base-url (got http://"}, fields: APIError{Reason: "Not Found", Message: "Resource not found"}},
		{name: "404 error only", status: 404, body: `{"error":"Organization not found"}`, code: codes.NotFound,
			parts: []string{"(HTTP 404: Organization not found)"}, fields: APIError{Reason: "Organization not found"}},
		{name: "400 outcome envelope", status: 400, body: `{"outcome":"error","message":"Some users are not in the team"}`, code: codes.InvalidArgument,
			msg: "Cursor rejected /teams/members (HTTP 400: Some users are not in the team)", fields: APIError{Outcome: "error", Message: "Some users are not in the team"}},
		{name: "409 non-JSON", status: 409, body: `<html>conflict for carol@example.com</html>`, code: codes.FailedPrecondition,
			msg: "Cursor rejected /teams/members (HTTP 409: Conflict, non-JSON body of 43 bytes)"},
		{name: "control characters and length", status: 400, body: `{"message":"bad\u001b[31m\nthing\u202e ` + long + `"}`, code: codes.InvalidArgument,
			parts: []string{"(HTTP 400: bad[31m thing " + strings.Repeat("x", 200-len("bad[31m thing ")) + "…)"}},
		{name: "server echoes the key", status: 401, body: `{"message":"Invalid API key ` + testKey + `"}`, code: codes.Unauthenticated,
			parts: []string{"(HTTP 401: Invalid API key [redacted])"}},
		{name: "unexpected 3xx", status: 304, body: ``, code: codes.Internal,
			msg: "Cursor answered /teams/members with an unexpected HTTP 304"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := fake(t, reply(tc.status, tc.body, "Content-Type", "application/json"), reply(200, oneMember))
			rec := &recorder{}
			_, err := newClient(t, srv.URL, rec).ListMembers(context.Background())
			requireCode(t, err, tc.code, tc.parts...)
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message =\n%q\nwant\n%q", err.Error(), tc.msg)
			}
			if status.Convert(err).Message() != err.Error() {
				t.Errorf("gRPC message %q differs from Error() %q", status.Convert(err).Message(), err.Error())
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err is %T, want *APIError", err)
			}
			if apiErr.Status != tc.status || apiErr.Attempts != 1 {
				t.Errorf("Status = %d, Attempts = %d; want %d and 1", apiErr.Status, apiErr.Attempts, tc.status)
			}
			if tc.fields != (APIError{}) {
				got := [4]string{apiErr.Reason, apiErr.Message, apiErr.Code, apiErr.Outcome}
				want := [4]string{tc.fields.Reason, tc.fields.Message, tc.fields.Code, tc.fields.Outcome}
				if got != want {
					t.Errorf("Reason/Message/Code/Outcome = %q, want %q", got, want)
				}
			}
			if n.Load() != 1 || len(rec.Waits()) != 0 {
				t.Errorf("requests = %d, waits = %v; want 1 request and no retry", n.Load(), rec.Waits())
			}
		})
	}
}

func TestRateLimitRetryAfterHonoured(t *testing.T) {
	srv, n := fake(t, reply(429, `{"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."}`, "Retry-After", "7"), reply(200, oneMember))
	rec := &recorder{}
	got, err := newClient(t, srv.URL, rec).ListMembers(context.Background())
	if err != nil || len(got) != 1 {
		t.Fatalf("ListMembers = %v, %v", got, err)
	}
	if !reflect.DeepEqual(rec.Waits(), secs(7)) || n.Load() != 2 {
		t.Errorf("waits = %v, requests = %d; want [7s] and 2", rec.Waits(), n.Load())
	}
}

func TestRateLimitWithoutRetryAfterUsesSchedule(t *testing.T) {
	srv, n := fake(t, reply(429, ``), reply(429, ``), reply(200, oneMember))
	rec := &recorder{}
	var hooked []string
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey, Retry: httpretry.Policy{Wait: rec.Wait},
		OnRetry: func(attempt int, wait time.Duration, reason string) {
			hooked = append(hooked, fmt.Sprintf("%d %s %s", attempt, wait, reason))
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListMembers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.Waits(), secs(1, 2)) || n.Load() != 3 {
		t.Errorf("waits = %v, requests = %d; want [1s 2s] and 3", rec.Waits(), n.Load())
	}
	if want := []string{"1 1s HTTP 429", "2 2s HTTP 429"}; !reflect.DeepEqual(hooked, want) {
		t.Errorf("OnRetry = %q, want %q", hooked, want)
	}
}

func TestRateLimitedForever(t *testing.T) {
	srv, n := fake(t, reply(429, `{"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."}`))
	rec := &recorder{}
	_, err := newClient(t, srv.URL, rec).ListMembers(context.Background())
	requireCode(t, err, codes.Unavailable)
	if want := "Cursor kept rate-limiting /teams/members (HTTP 429) after 6 attempts; try again in a minute"; err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	if n.Load() != 6 || !reflect.DeepEqual(rec.Waits(), secs(1, 2, 4, 8, 16)) {
		t.Errorf("requests = %d, waits = %v", n.Load(), rec.Waits())
	}
	var rl *v2.RateLimitDescription
	for _, d := range status.Convert(err).Details() {
		if r, ok := d.(*v2.RateLimitDescription); ok {
			rl = r
		}
	}
	if rl == nil || rl.GetStatus() != v2.RateLimitDescription_STATUS_OVERLIMIT {
		t.Fatalf("no OVERLIMIT RateLimitDescription detail: %v", status.Convert(err).Details())
	}
	if until := time.Until(rl.GetResetAt().AsTime()); until < 50*time.Second || until > 61*time.Second {
		t.Errorf("reset in %v, want about a minute", until)
	}
}

func TestServerErrorForever(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{500, `{"error":"Internal Server Error","message":"An unexpected error occurred"}`, "Cursor kept failing (HTTP 500: An unexpected error occurred) after 6 attempts over 31s"},
		{503, `upstream connect error`, "Cursor kept failing (HTTP 503: Service Unavailable, non-JSON body of 22 bytes) after 6 attempts over 31s"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv, n := fake(t, reply(tc.status, tc.body))
			rec := &recorder{}
			_, err := newClient(t, srv.URL, rec).ListMembers(context.Background())
			requireCode(t, err, codes.Unavailable)
			if err.Error() != tc.want {
				t.Errorf("message = %q, want %q", err.Error(), tc.want)
			}
			if n.Load() != 6 || !reflect.DeepEqual(rec.Waits(), secs(1, 2, 4, 8, 16)) {
				t.Errorf("requests = %d, waits = %v; want 6 and [1s 2s 4s 8s 16s]", n.Load(), rec.Waits())
			}
		})
	}
}

func TestNetworkFailureIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec := &recorder{}
	_, err = newClient(t, "http://"+addr, rec).ListMembers(context.Background())
	requireCode(t, err, codes.Unavailable, "no answer from "+addr+" after 6 attempts over 31s", "connection refused")
	if !reflect.DeepEqual(rec.Waits(), secs(1, 2, 4, 8, 16)) {
		t.Errorf("waits = %v", rec.Waits())
	}
}

func truncated(w http.ResponseWriter, r *http.Request) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n" + oneMember[:40])
	buf.Flush()
	conn.Close()
}

func TestTruncated200IsRetried(t *testing.T) {
	srv, n := fake(t, truncated, reply(200, oneMember))
	rec := &recorder{}
	got, err := newClient(t, srv.URL, rec).ListMembers(context.Background())
	if err != nil || len(got) != 1 || got[0].Email != "dana@example.com" {
		t.Fatalf("ListMembers = %v, %v", got, err)
	}
	if n.Load() != 2 || !reflect.DeepEqual(rec.Waits(), secs(1)) {
		t.Errorf("requests = %d, waits = %v; want 2 and [1s]", n.Load(), rec.Waits())
	}
}

func TestTruncated200ForeverIsUnavailable(t *testing.T) {
	srv, n := fake(t, truncated)
	_, err := newClient(t, srv.URL, &recorder{}).ListMembers(context.Background())
	requireCode(t, err, codes.Unavailable, "after 6 attempts", "unexpected EOF")
	if strings.Contains(err.Error(), "teamMembers") || n.Load() != 6 {
		t.Errorf("requests = %d, err = %v", n.Load(), err)
	}
}

func TestContextCancelledDuringBackoff(t *testing.T) {
	srv, n := fake(t, reply(503, ``))
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey, Retry: httpretry.Policy{
		Backoff: []time.Duration{time.Hour}, // only the injected wait could make this prompt
		Wait:    func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() },
	}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.ListMembers(ctx)
	requireCode(t, err, codes.Canceled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err does not wrap context.Canceled: %v", err)
	}
	if n.Load() != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("requests = %d after %v; want 1, promptly", n.Load(), time.Since(start))
	}
}

func TestContextDeadlineBeforeSending(t *testing.T) {
	srv, n := fake(t, reply(200, oneMember))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := newClient(t, srv.URL, &recorder{}).ListMembers(ctx)
	requireCode(t, err, codes.DeadlineExceeded)
	if !errors.Is(err, context.DeadlineExceeded) || n.Load() != 0 {
		t.Errorf("err = %v, requests = %d; want DeadlineExceeded and 0", err, n.Load())
	}
}
