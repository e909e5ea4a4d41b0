package scim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/conductorone/baton-cursor/internal/httpretry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/internal/httpretry/retrytest"
)

// testToken looks like a real token so a leak into any message is easy to spot.
const testToken = "scim_SECRETt0kenDoNotLeak0123456789abcdefghijklmnopqrstuvwxyzABCDEF"

const prefix = "/scim/v2" // every test client uses a path prefix, as real tenant URLs have

// recorder is the injected clock: it records waits and never sleeps.
type recorder = retrytest.Clock

var secs = retrytest.Seconds

// seenReq is what the fake server received.
type seenReq struct {
	Method, EscapedPath string
	Query               url.Values
	RawQuery            string
	Header              http.Header
	Body                string
}

type reqLog struct {
	mu   sync.Mutex
	reqs []seenReq
}

func (l *reqLog) n() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.reqs) }

func (l *reqLog) all() []seenReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seenReq(nil), l.reqs...)
}

func (l *reqLog) last(t *testing.T) seenReq {
	t.Helper()
	all := l.all()
	if len(all) == 0 {
		t.Fatal("no request reached the server")
	}
	return all[len(all)-1]
}

// fake answers request i with handlers[min(i, last)] and records every request.
func fake(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *reqLog) {
	t.Helper()
	log := &reqLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		log.mu.Lock()
		i := len(log.reqs)
		log.reqs = append(log.reqs, seenReq{Method: r.Method, EscapedPath: r.URL.EscapedPath(), Query: r.URL.Query(),
			RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
		log.mu.Unlock()
		handlers[min(i, len(handlers)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

func reply(code int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func scimError(status, scimType, detail string) string {
	b, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status": status, "scimType": scimType, "detail": detail})
	return string(b)
}

func newClient(t *testing.T, srv *httptest.Server, rec *recorder) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: srv.URL + prefix, Token: testToken, Retry: httpretry.Policy{Wait: rec.Wait}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// userJSON is a WorkOS-style SCIM user.
func userJSON(id, userName string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":%s,"userName":%s,"active":true,`+
		`"name":{"givenName":"G","familyName":"F"},"emails":[{"value":%s,"primary":true,"type":"work"}],"meta":{"resourceType":"User"}}`,
		q(id), q(userName), q(userName))
}

func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = userJSON(fmt.Sprintf("u%d", i+1), fmt.Sprintf("user%d@example.com", i+1))
	}
	return out
}

type listOpts struct {
	ignoreFilter, ignoreStartIndex bool
	total                          int // reported totalResults; 0 = the real count, -1 = omit
	maxCount                       int // the server's own page cap; 0 = none
}

// listServer serves GET /Users like a generic SCIM server: filter userName eq
// "…" (case-insensitive), 1-based startIndex, count.
func listServer(t *testing.T, users []string, o listOpts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		match := users
		if f := q.Get("filter"); f != "" && !o.ignoreFilter {
			v, ok := strings.CutPrefix(f, "userName eq ")
			var want string
			if !ok || json.Unmarshal([]byte(v), &want) != nil {
				reply(400, scimError("400", "invalidFilter", "cannot parse filter"))(w, r)
				return
			}
			match = nil
			for _, u := range users {
				var probe struct{ UserName string }
				json.Unmarshal([]byte(u), &probe)
				if strings.EqualFold(probe.UserName, want) {
					match = append(match, u)
				}
			}
		}
		start, err1 := strconv.Atoi(q.Get("startIndex"))
		count, err2 := strconv.Atoi(q.Get("count"))
		if err1 != nil || err2 != nil || start < 1 {
			t.Errorf("bad paging parameters %q", r.URL.RawQuery)
			start, count = 1, len(match)
		}
		if o.ignoreStartIndex {
			start = 1
		}
		if o.maxCount > 0 {
			count = min(count, o.maxCount)
		}
		lo := min(start-1, len(match))
		hi := min(lo+count, len(match))
		page := match[lo:hi]
		total := len(match)
		if o.total != 0 {
			total = o.total
		}
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],`
		if total >= 0 {
			body += fmt.Sprintf(`"totalResults":%d,`, total)
		}
		body += fmt.Sprintf(`"startIndex":%d,"itemsPerPage":%d,"Resources":[%s]}`, start, len(page), strings.Join(page, ","))
		reply(200, body)(w, r)
	}
}

// requireCode checks err's gRPC code and message, and that the token never leaks.
func requireCode(t *testing.T, err error, code codes.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", code)
	}
	noToken(t, err)
	if got := status.Code(err); got != code {
		t.Errorf("code = %v, want %v (err: %v)", got, code, err)
	}
	if status.Convert(err).Message() != err.Error() {
		t.Errorf("gRPC message %q differs from Error() %q", status.Convert(err).Message(), err.Error())
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err.Error(), s)
		}
	}
}

func noToken(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, text := range []string{err.Error(), status.Convert(err).Message(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(text, testToken[5:20]) {
			t.Errorf("error leaks the token: %q", text)
		}
	}
}

// decodeStrict decodes a request body, failing on fields the test did not expect.
func decodeStrict(t *testing.T, body string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("request body %s: %v", body, err)
	}
}
